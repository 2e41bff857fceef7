"""The Flask application (the only package importing Flask). Nothing is built at import time."""

from __future__ import annotations

from flask import Flask

from ..config import Settings
from ..services import Services, build_services
from . import (
    account,
    batches,
    blobs,
    dashboard,
    devices,
    errors,
    evidence,
    health,
    keys,
    observability,
    openapi,
    published,
    records,
    security,
    sessions,
)
from .fastjson_provider import FastJsonProvider

EXTENSION = "promptstamp"


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """Application factory. Tests pass Settings (or ready Services); ``serve`` passes Settings.from_env()."""
    app = Flask(__name__)
    app.json = FastJsonProvider(app)
    if services is None:
        services = build_services(settings or Settings.from_env())
    app.extensions[EXTENSION] = services
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_body_bytes
    errors.register(app)
    observability.register(app)  # request ids, access log, /metrics
    for module in (health, records, blobs, sessions, evidence, batches, keys, devices, account, published,
                   openapi):
        app.register_blueprint(module.bp)
    dashboard.register(app, services)  # sign-in, sessions, timeline, verify and keys pages
    security.register(app)  # CSP and security headers on every response
    return app


def services_of(app: Flask) -> Services:
    services: Services = app.extensions[EXTENSION]
    return services
