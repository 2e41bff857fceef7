"""The dashboard (signed in with an API token) and the public verify and keys pages.

Server-rendered with Jinja (autoescape on); the only script is static/app.js, loaded from our own
origin, because the Content-Security-Policy (web/security.py) allows no inline script or style.
"""

from __future__ import annotations

from flask import Flask

from ...services import Services
from . import auth, owner, pages, public
from .catalog import Catalog

PAGE_BLUEPRINTS = frozenset({auth.bp.name, pages.bp.name, owner.bp.name, public.bp.name})  # HTML, not API v1


def register(app: Flask, services: Services) -> None:
    auth.configure(app, services.keyring.signing_key.seed)
    app.extensions[pages.CATALOG] = Catalog(services)
    for bp in (auth.bp, pages.bp, owner.bp, public.bp):
        app.register_blueprint(bp)
