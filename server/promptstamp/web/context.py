"""Request-scoped access to the services and the caller's account."""

from __future__ import annotations

from flask import current_app, request

from ..services import Services


def services() -> Services:
    svc: Services = current_app.extensions["promptstamp"]
    return svc


def authenticated_account() -> str:
    """The caller's account id from ``Authorization: Bearer``; raises Unauthorized otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return services().accounts.authenticate(token.strip() if scheme.lower() == "bearer" else None)
