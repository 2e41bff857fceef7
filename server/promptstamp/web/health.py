"""``/healthz``: the store, every TSA and the pending batches, the same from whichever worker answers.

``status`` is "ok"; "degraded" when a TSA has been failing for longer than the retry interval (records
are still accepted; batches wait as pending); "down" (HTTP 503) when the store cannot be read.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app

from ..errors import StorageError
from ..metrics import process_metrics, sample_value
from ..tsa_health import process_tsa_health
from .context import services

bp = Blueprint("health", __name__)


def _pending_batches() -> int:
    """Summed over the instance's live workers (metrics.py), not this worker's own share."""
    text, _ = process_metrics().exposition()
    return int(sample_value(text.decode(), "promptstamp_pending_batches"))


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int]:
    svc = services()
    now = time.time()
    problems: list[str] = []
    try:
        svc.keyring.signing_key_published()
        store = {"backend": svc.store.describe(), "reachable": True}
    except StorageError:
        store = {"backend": svc.store.describe(), "reachable": False}
        problems.append("the store cannot be read")
    statuses = process_tsa_health().statuses()
    tsas = []
    for config in svc.settings.tsas:
        status = statuses.get(config.name)
        entry: dict[str, Any] = {"name": config.name, "url": config.url, "untrusted": config.untrusted,
                                 "state": "unknown (not asked since start-up)"}
        if status is not None:
            entry.update(status.to_json(now))
            entry["state"] = "failing" if status.failing_since is not None else "ok"
            if status.failing_for(now) > svc.settings.retry_interval_s:
                problems.append(f"TSA {config.name} has failed for {status.failing_for(now):.0f} s: "
                                f"{status.last_error}")
        tsas.append(entry)
    state = "down" if not store["reachable"] else "degraded" if problems else "ok"
    return {
        "status": state,
        "problems": problems,
        "storage": store["backend"],
        "store": store,
        "key": svc.keyring.signing_key.id,
        "tsas": tsas,
        # One test request per TSA made by `promptstamp serve` before its workers started (absent otherwise).
        "tsa_startup_checks": current_app.config.get("PROMPTSTAMP_TSA_CHECKS", []),
        "pending_batches": _pending_batches(),
        "retry_interval_s": svc.settings.retry_interval_s,
    }, 503 if state == "down" else 200
