"""What the dashboard says about time-stamping right now: why steps are waiting, when the next attempt
is, and whether a bundle (which is itself time-stamped when it is made) can be made at the moment."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...config import Settings
from ...tsa_health import process_tsa_health


@dataclass(frozen=True)
class TsaTrouble:
    tsa: str
    error: str
    since: str  # UTC, to the second
    next_attempt: str  # UTC, to the second


@dataclass(frozen=True)
class StampingState:
    failing: list[TsaTrouble]
    retry_interval_s: float
    can_bundle: bool  # False when every configured TSA is failing now


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def stamping_state(settings: Settings) -> StampingState:
    statuses = process_tsa_health().statuses()
    failing = []
    for config in settings.tsas:
        status = statuses.get(config.name)
        if status is None or status.failing_since is None or status.last_failure is None:
            continue
        error = (status.last_error or "no answer").removeprefix(f"TSA {config.name}: ")
        failing.append(TsaTrouble(tsa=config.name, error=error,
                                  since=_utc(status.failing_since),
                                  next_attempt=_utc(status.last_failure + settings.retry_interval_s)))
    return StampingState(failing=failing, retry_interval_s=settings.retry_interval_s,
                         can_bundle=len(failing) < len(settings.tsas))
