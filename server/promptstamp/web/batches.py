from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import authenticated_account, services

bp = Blueprint("batches", __name__, url_prefix="/v1/batches")


@bp.get("/<batch_id>")
def get_batch(batch_id: str) -> Response:
    return jsonify(services().ledger.batch_view(authenticated_account(), batch_id))
