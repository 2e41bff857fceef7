"""Where each record sits in its chain, checked as it arrives (DESIGN.md, "Precise rules": the chain is
per session per device, seq 1, 2, 3... with every prev the digest of the step before).

A break (wrong prev, a seq gap, a duplicate seq) never loses evidence: the record is stored and stamped
like any other, and the answer says ``"chain": {"status": "broken", ...}`` so the creator sees it now,
not when the bundle is verified later.

The check reads the session's index (index.py: every sealed record's id, seq, device and digest) as this
process knows it, listed afresh only when a predecessor seems missing, plus the records earlier in the
same post: no object is written per record, so a post of 200 steps costs at most one list, not 200
writes, and a post following one this process sealed costs nothing. What it cannot see is a record of the
same session that another request is sealing at this very moment; the extension sends one session's
steps in order, one post after the other, and the dashboard and the verifier judge the chain as it
stands once everything is stored, so such a race is still named there. A gap may close later (a step
queued offline arrives after its successor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import layout
from .index import Index, SessionState
from .model import Record

Problem = Literal["duplicate_seq", "seq_gap", "prev_mismatch", "first_prev_not_null"]


@dataclass(frozen=True)
class ChainStatus:
    status: Literal["ok", "broken"]
    problem: Problem | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.problem:
            body |= {"problem": self.problem, "detail": self.detail}
        return body


OK = ChainStatus("ok")

# (site, session id, device key id or "none", seq) -> (record id, digest; None for a previous release's index)
_Place = tuple[str, str, str, int]


class ChainLinks:
    def __init__(self, index: Index) -> None:
        self._index = index

    def link(self, account: str, records: Sequence[Record]) -> dict[str, ChainStatus]:
        """Say for each record (in request order) whether it continues its chain.

        First from what this process already knows of each session (no request at all when it sealed
        the step before); a step that seems to have no predecessor is looked for again after listing
        the session afresh, since another worker or instance may have sealed it."""
        out = self._link(account, records, refresh=False)
        if any(status.problem == "seq_gap" for status in out.values()):
            out = self._link(account, records, refresh=True)
        return out

    def _link(self, account: str, records: Sequence[Record], *, refresh: bool) -> dict[str, ChainStatus]:
        # The session's places come from its index state (kept up to date as segments are read, so a
        # lookup per record); the records earlier in this post are laid over them.
        states: dict[tuple[str, str], SessionState] = {}
        posted: dict[_Place, tuple[str, str | None]] = {}
        out: dict[str, ChainStatus] = {}
        for rec in records:
            state = states.get((rec.site, rec.session_id))
            if state is None:
                state = self._index.state(layout.session_prefix(account, rec.site, rec.session_id), refresh=refresh)
                states[(rec.site, rec.session_id)] = state
            device = rec.device or "none"
            place = (rec.site, rec.session_id, device, rec.seq)
            holder = self._known(state, posted, place)
            if holder is None:
                holder = posted[place] = (rec.id, rec.digest)
            out[rec.id] = self._status(rec, holder, self._known(state, posted, (*place[:3], rec.seq - 1)))
        return out

    def _known(self, state: SessionState, posted: dict[_Place, tuple[str, str | None]],
               place: _Place) -> tuple[str, str | None] | None:
        held = self._index.place_holder(state, (place[2], place[3]))
        return (held.id, held.digest) if held is not None else posted.get(place)

    @staticmethod
    def _status(rec: Record, holder: tuple[str, str | None], before: tuple[str, str | None] | None) -> ChainStatus:
        if holder[0] != rec.id:
            return ChainStatus("broken", "duplicate_seq", f"seq {rec.seq} of this session and device is already "
                               f"record {holder[0]}; both are kept, the chain forks here")
        if rec.seq == 1:
            return OK if rec.prev is None else ChainStatus(
                "broken", "first_prev_not_null", f"seq 1 must have prev null, found {rec.prev}")
        if rec.prev is None:
            return ChainStatus("broken", "prev_mismatch", f"seq {rec.seq} has prev null; expected the digest of "
                               f"seq {rec.seq - 1}")
        if before is None:
            return ChainStatus("broken", "seq_gap", f"seq {rec.seq - 1} of this session and device has not "
                               "arrived (yet): a step is missing before this one")
        if before[1] is not None and before[1] != rec.prev:
            return ChainStatus("broken", "prev_mismatch", f"prev {rec.prev} is not the digest of seq "
                               f"{rec.seq - 1} (record {before[0]}, {before[1]})")
        return OK


def session_breaks(records: Sequence[Record]) -> list[tuple[str, str]]:
    """Every break in a session's chains as the records stand now: (record id, what is wrong), in chain
    order. The same rules as the verifier's chain check (docs/format.md, "Verification", chain)."""
    chains: dict[str, list[Record]] = {}
    for rec in records:
        chains.setdefault(rec.device or "none", []).append(rec)
    out: list[tuple[str, str]] = []
    for device, recs in sorted(chains.items()):
        recs = sorted(recs, key=lambda r: (r.seq, r.id))
        prev: Record | None = None
        for rec in recs:
            where = f"seq {rec.seq} (device {device})"
            if prev is not None and rec.seq == prev.seq:
                out.append((rec.id, f"{where}: duplicated step, records {prev.id} and {rec.id}"))
                continue
            expected = prev.seq + 1 if prev else 1
            if rec.seq != expected:
                missing = f"seq {expected}" if rec.seq == expected + 1 else f"seq {expected} to {rec.seq - 1}"
                out.append((rec.id, f"{where}: gap, {missing} missing before it"))
            elif rec.prev != (prev.digest if prev else None):
                out.append((rec.id, f"{where}: prev is not the digest of the step before"))
            prev = rec
    return out
