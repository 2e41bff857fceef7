from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

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
        # One test request per TSA made by `promptstamp serve` before its workers started (absent otherwise).
        "tsa_startup_checks": current_app.config.get("PROMPTSTAMP_TSA_CHECKS", []),
        "pending_batches": svc.ledger.sealer.pending_count(),
    }
