from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..canonical import parse_json
from ..ledger import results_json
from .context import authenticated_account, services

bp = Blueprint("records", __name__, url_prefix="/v1/records")


@bp.post("")
def post_records() -> Response:
    account = authenticated_account()
    payload = parse_json(request.get_data(cache=False))
    results, is_array = services().ledger.ingest(account, payload)
    response = jsonify(results_json(results, is_array))
    response.status_code = 201 if all(r.outcome.status == "stamped" for r in results) else 202
    return response


@bp.get("/<record_id>")
def get_record(record_id: str) -> Response:
    return jsonify(services().ledger.record_view(authenticated_account(), record_id))


@bp.get("/<record_id>/receipt")
def get_receipt(record_id: str) -> Response:
    """The receipt exactly as signed and stored (its RFC 8785 bytes)."""
    body = services().ledger.receipt_bytes(authenticated_account(), record_id)  # 404: unknown, or not yours
    return Response(body, mimetype="application/json")
