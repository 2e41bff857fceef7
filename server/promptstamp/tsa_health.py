"""How each TSA has been answering lately, the same for every worker of an instance.

Workers are separate processes; a health check or a dashboard page is answered by any one of them,
so what one worker saw of a TSA must be visible to all. When the service runs under gunicorn,
each process writes its own small JSON file (``tsa-<pid>.json``) into the instance's shared runtime
directory (the one prometheus_client's multiprocess mode uses) on every TSA answer or failure, and
readers merge all files, newest fact per TSA. Without that directory (tests, the CLI) the state
lives in this process. Nothing here is evidence: it explains delays ("pending: TSA x failed with …").
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .metrics import multiprocess_dir

_MAX_ERROR = 300


@dataclass(frozen=True)
class TsaStatus:
    tsa: str
    last_success: float | None  # epoch seconds
    last_failure: float | None
    last_error: str | None
    failing_since: float | None  # the first failure after the last success, while it keeps failing

    def failing_for(self, now: float) -> float:
        return now - self.failing_since if self.failing_since is not None else 0.0

    def to_json(self, now: float) -> dict[str, object]:
        def stamp(t: float | None) -> str | None:
            return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        return {"tsa": self.tsa, "last_success": stamp(self.last_success), "last_failure": stamp(self.last_failure),
                "last_error": self.last_error, "failing_since": stamp(self.failing_since),
                "failing_for_s": round(self.failing_for(now), 1)}


class TsaHealth:
    def __init__(self) -> None:
        self._mine: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()

    def succeeded(self, tsa: str) -> None:
        self._update(tsa, success=True, error=None)

    def failed(self, tsa: str, error: str) -> None:
        self._update(tsa, success=False, error=error[:_MAX_ERROR])

    def _update(self, tsa: str, *, success: bool, error: str | None) -> None:
        now = time.time()
        with self._lock:
            entry = dict(self._mine.get(tsa, {}))
            if success:
                entry.update(last_success=now, failing_since=None)
            else:
                entry.update(last_failure=now, last_error=error)
                if entry.get("failing_since") is None:
                    entry["failing_since"] = now
            self._mine[tsa] = entry
            snapshot = json.dumps(self._mine)
        directory = multiprocess_dir()
        if directory is not None:
            _write_atomically(directory / f"tsa-{os.getpid()}.json", snapshot)

    def statuses(self) -> dict[str, TsaStatus]:
        """Per TSA: the newest success and failure any worker saw; failing while a failure is newest."""
        views: list[dict[str, dict[str, object]]] = []
        directory = multiprocess_dir()
        if directory is not None:
            for path in directory.glob("tsa-*.json"):
                try:
                    views.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue  # a worker that died mid-write; its next write or another worker's tells
        with self._lock:
            views.append(dict(self._mine))
        merged: dict[str, TsaStatus] = {}
        for tsa in {name for view in views for name in view}:
            entries = [view[tsa] for view in views if tsa in view]
            success = _newest(entries, "last_success")
            failure = _newest(entries, "last_failure")
            failing = failure is not None and (success is None or failure > success)
            error = None if failure is None else next(
                (str(e.get("last_error")) for e in entries if e.get("last_failure") == failure), None)
            since = [float(str(e["failing_since"])) for e in entries if e.get("failing_since") is not None]
            merged[tsa] = TsaStatus(tsa, success, failure, error if failing else None,
                                    min(since) if failing and since else None)
        return merged


def _newest(entries: list[dict[str, object]], key: str) -> float | None:
    values = [float(str(e[key])) for e in entries if e.get(key) is not None]
    return max(values) if values else None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # health notes are best effort; evidence never depends on them


@functools.cache
def process_tsa_health() -> TsaHealth:
    """This process's view, created on first use (process-wide by nature, as the metrics are)."""
    return TsaHealth()
