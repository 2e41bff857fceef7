from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import authenticated_account, services

bp = Blueprint("sessions", __name__, url_prefix="/v1/sessions")


@bp.get("")
def list_sessions() -> Response:
    return jsonify({"sessions": services().ledger.sessions(authenticated_account())})


@bp.get("/<site>/<path:session_id>")
def get_session(site: str, session_id: str) -> Response:
    return jsonify(services().ledger.session_view(authenticated_account(), site, session_id))
