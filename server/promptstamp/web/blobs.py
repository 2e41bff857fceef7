from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .context import authenticated_account, services

bp = Blueprint("blobs", __name__, url_prefix="/v1/blobs")


@bp.put("/<digest>")
def put_blob(digest: str) -> Response:
    account = authenticated_account()
    data = request.get_data(cache=False)
    media_type = request.mimetype or None
    created = services().ledger.put_blob(account, digest, data, media_type)
    response = jsonify({"digest": digest, "bytes": len(data), "created": created})
    response.status_code = 201 if created else 200
    return response


@bp.get("/<digest>")
def get_blob(digest: str) -> Response:
    data, media_type = services().ledger.get_blob(authenticated_account(), digest)
    response = Response(data, mimetype=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Captured bytes are untrusted: never let a browser render them as a page of ours.
    response.headers["Content-Disposition"] = f'attachment; filename="{digest.replace(":", "-")}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
