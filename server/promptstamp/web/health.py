from __future__ import annotations

from typing import Any

from flask import Blueprint

from .context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    svc = services()
    return {
        "status": "ok",
        "storage": svc.store.describe(),
        "key": svc.keyring.signing_key.id,
        "tsas": [{"name": t.name, "url": t.url, "untrusted": t.untrusted} for t in svc.settings.tsas],
        "pending_batches": svc.ledger.sealer.pending_count(),
    }
