from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import services

bp = Blueprint("keys", __name__, url_prefix="/v1/keys")


@bp.get("")
def list_keys() -> Response:
    """Public: every service key that ever signed receipts, so anyone can pin them."""
    svc = services()
    return jsonify({
        "keys": [e.to_json() for e in svc.keyring.entries()],
        "tsas": [{"name": t.name, "url": t.url, "untrusted": t.untrusted,
                  "roots": t.ca_file.read_text() if t.ca_file else None} for t in svc.settings.tsas],
    })
