"""How far a step's capture time (the device's claim) is from when the service received it.

The record's ``captured_at`` is what the device says; the receipt's ``received_at`` is the service's
own clock. A gap beyond ``CLOCK_TOLERANCE_S`` is accepted (a device may queue steps while offline for
days) but flagged wherever the step is shown: in the answer to the post, the dashboard and the
report, which derive it from the two signed times, so anyone can re-check it. Years like 0001 or 9999
fall far outside and are flagged too.
"""

from __future__ import annotations

from datetime import datetime

from .errors import InvalidInput
from .model import parse_timestamp

CLOCK_TOLERANCE_S = 600  # ten minutes either way


def clock_gap_s(captured_at: str, received_at: str) -> float | None:
    """Seconds by which capture precedes receipt (negative: the device claims a later time), when past
    the tolerance; None within it or when either time does not parse."""
    try:
        captured = parse_timestamp(captured_at, "captured_at")
        received = _loose(received_at)
    except (ValueError, InvalidInput):  # a malformed time is refused at ingest; nothing to compare here
        return None
    gap = (received - captured).total_seconds()
    return gap if abs(gap) > CLOCK_TOLERANCE_S else None


def _loose(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def describe_gap(gap_s: float) -> tuple[str, str]:
    """("before"|"after", a short amount like "3 h 12 min" or "2 d") for the words around it."""
    seconds = abs(gap_s)
    if seconds >= 2 * 86400:
        amount = f"{seconds / 86400:.0f} d"
    elif seconds >= 3600:
        amount = f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    else:
        amount = f"{int(seconds // 60)} min"
    return ("before" if gap_s > 0 else "after"), amount
