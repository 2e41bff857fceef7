"""What the dashboard reads: an account's sessions (with search and status) and pages of a timeline.

Reads go through the ledger's index (``promptstamp.index``), the same read side the API uses, which
keeps what it read from write-once objects. Kept here besides: time-stamps of batches once stamped,
and the whole-session pass (summary, selections, where each page's diffs start) keyed by the exact
set of index objects it came from. A new batch adds an index object, which changes the key, so
nothing stale is ever shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import tokens
from ...chain_links import session_breaks
from ...errors import PromptStampError
from ...index import Located
from ...lru import Lru
from ...model import Record, iso_utc
from ...report import PromptState, ReportSession, ReportStep, selection_html, summary
from ...services import Services
from ...statements import SERVICE_SITE

PAGE_STEPS = 100
PAGE_SESSIONS = 25


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
    drift: int = 0  # drift records: capture gaps the extension evidenced


@dataclass(frozen=True)
class SessionPass:
    """The whole-session facts a page needs, computed once per version of the session."""

    ids: tuple[str, ...]  # in report order (capture time, then seq)
    facts: dict[str, object]
    selection: str  # report.selection_html, links pointing at record pages
    starts: tuple[PromptState, ...]  # diff state before the first step of each page
    title: str
    breaks: tuple[tuple[str, str], ...] = ()  # chain breaks (record id, what), shown in red


class Catalog:
    def __init__(self, services: Services) -> None:
        self._svc = services
        self._passes: Lru[tuple[str, str, str, tuple[str, ...]], SessionPass] = Lru(64)
        self._stamped: Lru[str, BatchTimes] = Lru(20_000)

    def batch_times(self, batch_id: str) -> BatchTimes:
        def read() -> BatchTimes:
            times: dict[str, str] = {}
            untrusted = set()
            for view in self._svc.ledger.index.tokens(batch_id):
                try:
                    times[view.tsa] = iso_utc(tokens.token_info(view.token).gen_time)
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

    @staticmethod
    def _entries(records: Sequence[Located]) -> list[dict[str, Any]]:
        """A session's records as index lines with site, session, batch and where to read them."""
        entries = [{**x.entry, "site": x.site, "session": x.session_id, "batch": x.batch_id, "located": x}
                   for x in records]
        # report.html orders by (capture time, seq), stably over the ledger's order; the page must match it
        entries.sort(key=lambda e: (e["captured_at"], e["seq"]))
        return entries

    # -- sessions list ---------------------------------------------------------------------------

    def sessions(self, account: str) -> list[SessionRow]:
        rows = []
        for records in self._svc.ledger.index.sessions(account):
            entries = self._entries(records)
            if not entries or entries[0]["site"] == SERVICE_SITE:  # account and pairing records: not a session
                continue
            title = next((e["title"] for e in reversed(entries) if e.get("title")), None)
            batches = {e["batch"] for e in entries}
            pending_batches = {b for b in batches if not self.batch_times(b).stamped}
            pending = sum(1 for e in entries if e["batch"] in pending_batches)
            text = "\n".join([title or "", entries[0]["session"], entries[0]["site"],
                              *(e.get("snippet", "") for e in entries)]).casefold()
            rows.append(SessionRow(site=entries[0]["site"], id=entries[0]["session"], title=title,
                                   steps=len(entries), first=entries[0]["captured_at"],
                                   last=max(e["captured_at"] for e in entries), pending=pending, text=text,
                                   drift=sum(1 for e in entries if e.get("type") == "drift")))
        return sorted(rows, key=lambda r: r.last, reverse=True)

    # -- one session -----------------------------------------------------------------------------

    def session_pass(self, account: str, site: str, session_id: str,
                     step_url: Callable[[str], str]) -> tuple[SessionPass, list[dict[str, Any]]]:
        located = self._svc.ledger.session_records(account, site, session_id)
        entries = self._entries(located)
        version = tuple(sorted({e["batch"] for e in entries}))

        def compute() -> SessionPass:
            records = [Record.from_canonical(pair[0])
                       for pair in self._svc.ledger.index.pairs([e["located"] for e in entries])]
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
            return SessionPass(tuple(r.id for r in records), facts, selection, tuple(starts), title,
                               tuple(session_breaks(records)))

        return self._passes.get((account, site, session_id, version), compute), entries

    def record(self, account: str, record_id: str) -> Record:
        return Record.from_canonical(self._svc.ledger.record_pair(account, record_id)[0])

    def steps(self, entries: Sequence[dict[str, Any]]) -> list[ReportStep]:
        """Timeline steps for index lines of ``session_pass``: one ranged read per batch."""
        located = [e["located"] for e in entries]
        return [self._step(Record.from_canonical(record), receipt)
                for record, receipt in self._svc.ledger.index.pairs(located)]

    def step(self, account: str, record_id: str) -> ReportStep:
        record, receipt = self._svc.ledger.record_pair(account, record_id)
        return self._step(Record.from_canonical(record), receipt)

    def _step(self, record: Record, receipt_bytes: bytes | None) -> ReportStep:
        if receipt_bytes is None:
            return ReportStep(record, status="pending")
        receipt = self._svc.ledger.index.receipt(receipt_bytes)
        times = self.batch_times(receipt.batch.id)
        return ReportStep(record, receipt.received_at, receipt.batch.id, times.times,
                          "stamped" if times.stamped else "pending", receipt.device_key)
