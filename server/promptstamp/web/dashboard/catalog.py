"""What the dashboard reads: an account's sessions (with search and status) and pages of a timeline.

Everything here is read from write-once objects, so what has been read once can be kept: session
index objects by key, time-stamps of batches once stamped, and the whole-session pass (summary,
selections, where each page's diffs start) keyed by the exact set of index objects it came from.
A new batch adds an index object, which changes the key, so nothing stale is ever shown.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ... import layout, tokens
from ...errors import NotFound, ObjectMissing, PromptStampError
from ...model import Receipt, Record
from ...report import PromptState, ReportSession, ReportStep, selection_html, summary
from ...services import Services

PAGE_STEPS = 100
PAGE_SESSIONS = 25

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: K) -> V | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: K, make: Callable[[], V]) -> V:
        value = self.peek(key)
        if value is None:
            value = make()  # outside the lock: a slow read must not stall other requests
            self.put(key, value)
        return value


@dataclass(frozen=True)
class BatchTimes:
    times: dict[str, str]  # tsa -> genTime (RFC 3339), empty while pending
    untrusted: frozenset[str]

    @property
    def stamped(self) -> bool:
        return bool(self.times)


@dataclass(frozen=True)
class SessionRow:
    site: str
    id: str
    title: str | None
    steps: int
    first: str
    last: str
    pending: int  # steps whose batch has no time-stamp yet
    text: str = field(repr=False)  # lowercased search text: title, id, snippets


@dataclass(frozen=True)
class SessionPass:
    """The whole-session facts a page needs, computed once per version of the session."""

    ids: tuple[str, ...]  # in report order (capture time, then seq)
    facts: dict[str, object]
    selection: str  # report.selection_html, links pointing at record pages
    starts: tuple[PromptState, ...]  # diff state before the first step of each page
    title: str


class Catalog:
    def __init__(self, services: Services) -> None:
        self._svc = services
        self._index: _Lru[str, dict[str, Any]] = _Lru(20_000)
        self._passes: _Lru[tuple[str, str, str, frozenset[str]], SessionPass] = _Lru(64)
        self._stamped: _Lru[str, BatchTimes] = _Lru(20_000)

    # -- index objects ---------------------------------------------------------------------------

    def _index_object(self, key: str) -> dict[str, Any]:
        return self._index.get(key, lambda: dict(json.loads(self._svc.store.get(key))))

    def batch_times(self, batch_id: str) -> BatchTimes:
        def read() -> BatchTimes:
            times: dict[str, str] = {}
            untrusted = set()
            for view in self._svc.ledger.sealer.tokens(batch_id):
                try:
                    times[view.tsa] = tokens.token_info(view.token).gen_time.isoformat().replace("+00:00", "Z")
                except PromptStampError:
                    times[view.tsa] = "(unreadable token)"
                if view.untrusted:
                    untrusted.add(view.tsa)
            return BatchTimes(times, frozenset(untrusted))

        times = self._stamped.peek(batch_id)
        if times is None:
            times = read()
            if times.stamped:  # pending is not kept: the next look must see the token once a TSA answers
                self._stamped.put(batch_id, times)
        return times

    def _grouped(self, account: str) -> dict[tuple[str, str], list[str]]:
        prefix = layout.sessions_prefix(account)
        groups: dict[tuple[str, str], list[str]] = {}
        for key in self._svc.store.list(prefix):
            site, skey, _batch = key[len(prefix):].split("/")
            groups.setdefault((site, skey), []).append(key)
        return groups

    def _entries(self, keys: list[str]) -> list[dict[str, Any]]:
        """Unique records of a session in the ledger's order, each with the batch it was sealed in."""
        by_id: dict[str, dict[str, Any]] = {}
        for key in keys:
            index = self._index_object(key)
            batch_id = key.rsplit("/", 1)[1].removesuffix(".json")
            for entry in index["records"]:
                by_id.setdefault(entry["id"], {**entry, "site": index["site"], "session": index["session"],
                                               "batch": batch_id})
        entries = sorted(by_id.values(), key=lambda e: (e["captured_at"], e.get("device", ""), e["seq"], e["id"]))
        # report.html orders by (capture time, seq), stably over the ledger's order; the page must match it
        entries.sort(key=lambda e: (e["captured_at"], e["seq"]))
        return entries

    # -- sessions list ---------------------------------------------------------------------------

    def sessions(self, account: str) -> list[SessionRow]:
        rows = []
        for keys in self._grouped(account).values():
            entries = self._entries(keys)
            if not entries:
                continue
            title = next((e["title"] for e in reversed(entries) if e.get("title")), None)
            batches = {e["batch"] for e in entries}
            pending_batches = {b for b in batches if not self.batch_times(b).stamped}
            pending = sum(1 for e in entries if e["batch"] in pending_batches)
            text = "\n".join([title or "", entries[0]["session"], entries[0]["site"],
                              *(e.get("snippet", "") for e in entries)]).casefold()
            rows.append(SessionRow(site=entries[0]["site"], id=entries[0]["session"], title=title,
                                   steps=len(entries), first=entries[0]["captured_at"],
                                   last=max(e["captured_at"] for e in entries), pending=pending, text=text))
        return sorted(rows, key=lambda r: r.last, reverse=True)

    # -- one session -----------------------------------------------------------------------------

    def session_keys(self, account: str, site: str, session_id: str) -> list[str]:
        try:
            keys = list(self._svc.store.list(layout.session_prefix(account, site, session_id)))
        except PromptStampError as e:  # an id the store cannot even spell is an id we never stored
            raise NotFound(f"no session {site}/{session_id}") from e
        return keys

    def session_pass(self, account: str, site: str, session_id: str,
                     step_url: Callable[[str], str]) -> tuple[SessionPass, list[dict[str, Any]]]:
        keys = self.session_keys(account, site, session_id)
        entries = [e for e in self._entries(keys) if e["session"] == session_id and e["site"] == site]
        if not entries:
            raise NotFound(f"no session {site}/{session_id}")

        def compute() -> SessionPass:
            records = [self.record(account, e["id"]) for e in entries]
            steps = [ReportStep(r) for r in records]
            facts = summary(ReportSession(site=site, session_id=session_id, title="", account=account,
                                          generated_at="", steps=steps, image=lambda _h: None))
            selection = selection_html(ReportSession(
                site=site, session_id=session_id, title="", account=account, generated_at="", steps=steps,
                image=lambda _h: None, step_url=step_url))
            starts, state = [], PromptState()
            for i, r in enumerate(records):
                if i % PAGE_STEPS == 0:
                    starts.append(state)
                state = state.after(r)
            title = next((str(r.value["session"]["title"]) for r in reversed(records)
                          if isinstance(r.value["session"], dict) and r.value["session"].get("title")), "")
            return SessionPass(tuple(r.id for r in records), facts, selection, tuple(starts), title)

        return self._passes.get((account, site, session_id, frozenset(keys)), compute), entries

    def record(self, account: str, record_id: str) -> Record:
        try:
            data = self._svc.store.get(layout.record(account, record_id))
        except ObjectMissing as e:
            raise NotFound(f"no record {record_id}") from e
        return Record.from_canonical(data)

    def step(self, account: str, record_id: str) -> ReportStep:
        record = self.record(account, record_id)
        try:
            receipt = Receipt.from_json(json.loads(self._svc.store.get(layout.receipt(account, record_id))))
        except ObjectMissing:
            return ReportStep(record, status="pending")
        times = self.batch_times(receipt.batch.id)
        return ReportStep(record, receipt.received_at, receipt.batch.id, times.times,
                          "stamped" if times.stamped else "pending")
