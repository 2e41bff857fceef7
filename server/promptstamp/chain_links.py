"""Where each record sits in its chain, checked as it arrives (DESIGN.md, "Precise rules": the chain is
per session per device, seq 1, 2, 3... with every prev the digest of the step before).

A break (wrong prev, a seq gap, a duplicate seq) never loses evidence: the record is stored and stamped
like any other, and the answer says ``"chain": {"status": "broken", ...}`` so the creator sees it now,
not when the bundle is verified later. Each (session, device, seq) is claimed once, write-once, in the
store; the first record to claim a seq holds it, so concurrent instances agree without a coordinator.
A gap may close later (a step queued offline arrives after its successor); the dashboard and the
verifier judge the chain as it stands then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import layout
from .canonical import canonicalize
from .errors import AlreadyExists, ObjectMissing
from .model import Record
from .storage import ObjectStore

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


class ChainLinks:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def link(self, account: str, records: Sequence[Record]) -> dict[str, ChainStatus]:
        """Claim each record's place (request order) and say whether it continues its chain."""
        seen: dict[str, dict[str, Any]] = {}
        out: dict[str, ChainStatus] = {}
        for rec in records:
            key = self._key(account, rec, rec.seq)
            holder = seen.get(key) or self._claim(key, rec)
            seen[key] = holder
            out[rec.id] = self._status(account, rec, holder, seen)
        return out

    @staticmethod
    def _key(account: str, rec: Record, seq: int) -> str:
        return layout.chain_link(account, rec.site, rec.session_id, rec.device or "none", seq)

    def _claim(self, key: str, rec: Record) -> dict[str, Any]:
        mine = {"id": rec.id, "digest": rec.digest}
        try:
            self._store.put(key, canonicalize(mine))
        except AlreadyExists:
            held: dict[str, Any] = json.loads(self._store.get(key))
            return held
        return mine

    def _held(self, key: str) -> dict[str, Any] | None:
        try:
            held: dict[str, Any] = json.loads(self._store.get(key))
        except ObjectMissing:
            return None
        return held

    def _status(self, account: str, rec: Record, holder: dict[str, Any],
                seen: dict[str, dict[str, Any]]) -> ChainStatus:
        if holder["id"] != rec.id:
            return ChainStatus("broken", "duplicate_seq", f"seq {rec.seq} of this session and device is already "
                               f"record {holder['id']}; both are kept, the chain forks here")
        if rec.seq == 1:
            return OK if rec.prev is None else ChainStatus(
                "broken", "first_prev_not_null", f"seq 1 must have prev null, found {rec.prev}")
        if rec.prev is None:
            return ChainStatus("broken", "prev_mismatch", f"seq {rec.seq} has prev null; expected the digest of "
                               f"seq {rec.seq - 1}")
        before_key = self._key(account, rec, rec.seq - 1)
        before = seen.get(before_key) or self._held(before_key)
        if before is None:
            return ChainStatus("broken", "seq_gap", f"seq {rec.seq - 1} of this session and device has not "
                               "arrived (yet): a step is missing before this one")
        if before["digest"] != rec.prev:
            return ChainStatus("broken", "prev_mismatch", f"prev {rec.prev} is not the digest of seq "
                               f"{rec.seq - 1} (record {before['id']}, {before['digest']})")
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
