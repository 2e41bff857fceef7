"""``GET /v1/account``: who the bearer token belongs to, so a paired device can say "as <name>"."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import authenticated_account, services

bp = Blueprint("account", __name__)


@bp.get("/v1/account")
def account() -> Response:
    acct = services().accounts.get(authenticated_account())
    return jsonify({"id": acct.id, "name": acct.name, "created_at": acct.created_at})
