"""Appending a sealed batch's records to their sessions' indexes: the idempotency point.

A session's index is a sequence of write-once segments numbered 1, 2, ...; a writer puts segment
n + 1 only after reading segments 1..n, with a write-once put, so two writers of one session (in one
process, in two workers, or on two hosts) take turns: the loser lists what the winner added and
tries again. A record id already in the session is never indexed twice: the first copy wins, a
resend with identical bytes is answered with that copy's receipt, and other bytes are a conflict.
This is the same guarantee the previous release got from one write-once record object per record,
at one write per session per batch instead of three per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import fastjson, layout
from .errors import Conflict, StorageError
from .index import Index, Located, SessionState
from .model import Record
from .pack import Span, encode_locator, segment, segment_entry
from .storage import ObjectStore

#: Rounds of "list what others added, try the next number" before giving up on a session.
MAX_ROUNDS = 64


@dataclass(frozen=True)
class Sealed:
    account: str
    record: Record
    receipt: bytes  # signed, in this batch
    span: Span  # where record and receipt sit in this batch's pack


#: Per record: its own receipt (indexed by this batch), an earlier identical copy, or why not.
Result = bytes | Located | Exception


class Indexer:
    def __init__(self, store: ObjectStore, index: Index) -> None:
        self._store = store
        self._index = index

    def earlier(self, state: SessionState, account: str, record: Record) -> Located | Exception | None:
        """What the session already holds under ``record.id``: an identical copy, a Conflict, or None."""
        found = self._index.find(account, state, record.id)
        if found is None:
            return None
        if "digest" in found.entry:
            same = found.entry["digest"] == record.digest
        else:  # a previous release's record: compare its stored bytes
            stored, receipt = self._index.pairs([found])[0]
            if receipt is None:
                return None  # its seal never finished and nothing was acknowledged: index it anew
            same = stored == record.canonical
        if same:
            return found
        return Conflict(f"record {record.id} already exists with different content; record ids are idempotency "
                        "keys, so a changed step needs a new id")

    def index_batch(self, batch: dict[str, Any], members: Sequence[Sealed]) -> dict[tuple[str, str], Result]:
        """Index every member in its session, then write the locators of those indexed here."""
        groups: dict[str, list[Sealed]] = {}
        for m in members:
            groups.setdefault(layout.session_prefix(m.account, m.record.site, m.record.session_id), []).append(m)
        states = {prefix: self._index.state(prefix, refresh=False) for prefix in groups}
        results: dict[tuple[str, str], Result] = {}
        pending = groups
        for _ in range(MAX_ROUNDS):
            planned: dict[str, tuple[str, dict[str, Any], list[Sealed]]] = {}
            for prefix, group in pending.items():
                fresh = []
                for m in group:
                    found = self.earlier(states[prefix], m.account, m.record)
                    if found is None:
                        fresh.append(m)
                    elif isinstance(found, Located) and found.batch_id == batch["id"]:
                        results[(m.account, m.record.id)] = m.receipt  # indexed before a crash; finishing now
                    else:
                        results[(m.account, m.record.id)] = found
                if fresh:
                    first = fresh[0].record
                    key = layout.session_segment(fresh[0].account, first.site, first.session_id,
                                                 states[prefix].last_number + 1)
                    doc = segment(first.site, first.session_id, batch,
                                  [segment_entry(m.record, m.span) for m in fresh])
                    planned[prefix] = (key, doc, fresh)
            taken = self._store.put_many([(key, fastjson.dumps(doc)) for key, doc, _ in planned.values()])
            pending = {}
            for prefix, (key, doc, fresh) in planned.items():
                if key in taken:
                    self._index.refresh(states[prefix])  # someone else appended: read it, then try again
                    pending[prefix] = fresh
                else:
                    self._index.add_segment(states[prefix], key, doc)
                    for m in fresh:
                        results[(m.account, m.record.id)] = m.receipt
            if not pending:
                break
        else:
            raise StorageError(f"could not append to the index of {len(pending)} session(s) after {MAX_ROUNDS} "
                               "rounds of concurrent writers; the batch will be finished by recovery")
        self._write_locators(batch["id"], [m for m in members if isinstance(results[(m.account, m.record.id)], bytes)])
        return results

    def _write_locators(self, batch_id: str, indexed: Sequence[Sealed]) -> None:
        by_prefix: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for m in indexed:
            where = (m.account, layout.locators_prefix(m.account, m.record.id))
            by_prefix.setdefault(where, {})[m.record.id] = (m.record.site, m.record.session_id)
        # A key already taken is this batch's own locator, written before a crash.
        self._store.put_many([(layout.locator(account, next(iter(ids)), batch_id), encode_locator(batch_id, ids))
                              for (account, _), ids in by_prefix.items()])
