"""The one read side: what the API, the dashboard, the exporter and the sealer's idempotency check know
of the store's sessions, records, receipts, batches and tokens, in both layouts (``layout``).

Everything read here comes from write-once objects, so it can be kept: parsed index segments and
locators by key, a session's known segments with which record id is in which, and a batch's tokens
once stamped. Only listings are asked again, since they are how new objects become visible.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import fastjson, layout
from .canonical import canonicalize
from .errors import NotFound, ObjectMissing, PromptStampError, StorageError
from .late_stamps import read_state
from .lru import Lru
from .model import ULID_RE, Receipt, iso_utc
from .pack import (
    HEAD_PROBE,
    Span,
    StoredToken,
    decode_locator,
    decode_meta,
    decode_segment,
    meta_length,
)
from .signing import b64
from .storage import ObjectStore
from .token_parse import TokenInfo
from .tokens import DEV_TSA_POLICY, token_info


@dataclass(frozen=True)
class TokenView:
    tsa: str
    token: bytes
    gen_time: str
    untrusted: bool
    chain: str = field(default="", repr=False)

    def to_json(self) -> dict[str, object]:
        return {"tsa": self.tsa, "token": b64(self.token), "gen_time": self.gen_time, "untrusted": self.untrusted}


def token_view(tsa: str, der: bytes, untrusted: bool, chain: str = "", info: TokenInfo | None = None) -> TokenView:
    """``info`` when the caller has parsed the token already (the sealer, from its checks)."""
    info = info or token_info(der)
    # Stored marks predate the policy check: the token's own policy decides too.
    untrusted = untrusted or info.policy == DEV_TSA_POLICY
    return TokenView(tsa=tsa, token=der, gen_time=iso_utc(info.gen_time),
                     untrusted=untrusted, chain=chain)


@dataclass(frozen=True)
class Located:
    """One record as its session's index knows it."""

    account: str
    site: str
    session_id: str
    batch: dict[str, Any]  # the batch document (a previous release's index names only its id)
    entry: dict[str, Any]  # the index line: id, seq, captured_at, type, [digest, at, title, device, snippet]

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def batch_id(self) -> str:
        return str(self.batch["id"])

    @property
    def span(self) -> Span | None:
        """Where the record and its receipt sit in the batch's pack; None for a previous release's record."""
        at = self.entry.get("at")
        return None if at is None else Span.from_json(at, f"record {self.id}")


#: A place in a session's chains: (device key id or "none", seq) (chain_links.py).
Place = tuple[str, int]


@dataclass(frozen=True)
class PlaceHolder:
    """The record holding a chain place: of several, the first in capture order (captured_at, id)."""

    captured_at: str
    id: str
    digest: str | None  # None for a previous release's index line, which has no digest


@dataclass
class SessionState:
    """A session's index objects known so far, which of them holds each record id (first wins), and
    which record holds each chain place, kept up to date as objects are absorbed so that checking a
    new record's link costs a lookup, not a pass over the whole session."""

    prefix: str
    keys: list[str] = field(default_factory=list)  # sorted
    by_id: dict[str, str] = field(default_factory=dict)  # record id -> key of the first object holding it
    places: dict[Place, PlaceHolder] = field(default_factory=dict)
    last_number: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _hold_place(places: dict[Place, PlaceHolder], entry: dict[str, Any]) -> None:
    place = (str(entry.get("device") or "none"), int(entry["seq"]))
    captured_at, record_id = str(entry["captured_at"]), str(entry["id"])
    held = places.get(place)
    if held is None or (captured_at, record_id) < (held.captured_at, held.id):
        digest = entry.get("digest")
        places[place] = PlaceHolder(captured_at, record_id, digest if isinstance(digest, str) else None)


class Index:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        # Parsed segments weigh what they hold: about 200,000 index lines (tens of MiB) at most.
        self._objects: Lru[str, dict[str, Any]] = Lru(200_000, weight=lambda index: len(index["records"]))
        self._states: Lru[str, SessionState] = Lru(4096)
        self._locators: Lru[str, dict[str, tuple[str, str]]] = Lru(4096)
        self._tokens: Lru[str, tuple[TokenView, ...]] = Lru(20_000)
        self._previous_layout: bool | None = None
        self._layout_lock = threading.Lock()

    # -- session index ---------------------------------------------------------------------------

    def segment(self, key: str) -> dict[str, Any]:
        """A parsed session index object (either layout)."""
        def read() -> dict[str, Any]:
            return decode_segment(self._store.get(key), key, layout.legacy_index_batch(key))
        return self._objects.get(key, read)

    def remember_segment(self, key: str, index: dict[str, Any]) -> None:
        """A segment this process just wrote: keep it, so the next look needs no read."""
        self._objects.put(key, index)

    def state(self, prefix: str, *, refresh: bool = True, assume_new: bool = False) -> SessionState:
        """The session under ``prefix``; ``refresh`` lists what other writers added since the last look
        (one list request). A session never seen is listed, unless ``assume_new``: then it starts
        empty, which is safe only for appending (``indexer``), since appending segment 1 fails when
        the session has one, and that failure lists it. Never assumed while the store holds objects
        of the previous layout, whose index objects are not numbered."""
        state = self._states.peek(prefix)
        if state is None:
            state = SessionState(prefix)
            if not assume_new or self.previous_layout_present():
                self._absorb(state, self._store.list(prefix))
            self._states.put(prefix, state)
        elif refresh:
            self.refresh(state)
        return state

    def previous_layout_present(self) -> bool:
        """Whether the store holds batches of the previous release (they are its oldest, so the first
        key under batches/ tells); asked once per process."""
        if self._previous_layout is None:
            with self._layout_lock:  # the first requests arrive together: one of them lists
                if self._previous_layout is None:
                    first = next(iter(self._store.list(layout.BATCHES)), None)
                    self._previous_layout = first is not None and first.rsplit("/", 1)[1] not in ("pack", "stamp")
        return self._previous_layout

    def refresh(self, state: SessionState) -> None:
        # Segment numbers only grow and sort after a previous release's batch-named objects, so what
        # is new always lists after the last key known.
        self._absorb(state, self._store.list(state.prefix, start_after=state.keys[-1] if state.keys else None))

    def add_segment(self, state: SessionState, key: str, index: dict[str, Any]) -> None:
        self.remember_segment(key, index)
        self._absorb(state, [key])

    def _absorb(self, state: SessionState, keys: Iterable[str]) -> None:
        for key in keys:
            with state.lock:
                if self._known(state, key):
                    continue
            index = self.segment(key)
            with state.lock:
                if self._known(state, key):
                    continue
                bisect.insort(state.keys, key)
                for entry in index["records"]:
                    # A previous release could index one record in two batches' objects; the first
                    # (in key order, which is batch order there) is the one its receipt came from.
                    held = state.by_id.get(entry["id"])
                    if held is None or key < held:
                        state.by_id[entry["id"]] = key
                    _hold_place(state.places, entry)
                number = layout.segment_number(key)
                if number is not None:
                    state.last_number = max(state.last_number, number)

    @staticmethod
    def place_holder(state: SessionState, place: Place) -> PlaceHolder | None:
        with state.lock:
            return state.places.get(place)

    @staticmethod
    def _known(state: SessionState, key: str) -> bool:
        i = bisect.bisect_left(state.keys, key)
        return i < len(state.keys) and state.keys[i] == key

    def find(self, account: str, state: SessionState, record_id: str) -> Located | None:
        with state.lock:
            key = state.by_id.get(record_id)
        if key is None:
            return None
        index = self.segment(key)
        for entry in index["records"]:
            if entry["id"] == record_id:
                return Located(account, index["site"], index["session"], index["batch"], entry)
        return None

    def entries(self, account: str, state: SessionState) -> list[Located]:
        """The session's records, each once, in capture order (time, device, seq, id)."""
        with state.lock:
            keys = list(state.keys)
        seen: set[str] = set()
        out = []
        for key in keys:
            index = self.segment(key)
            for entry in index["records"]:
                if entry["id"] not in seen:
                    seen.add(entry["id"])
                    out.append(Located(account, index["site"], index["session"], index["batch"], entry))
        out.sort(key=lambda x: (x.entry["captured_at"], x.entry.get("device", ""), x.entry["seq"], x.id))
        return out

    def session(self, account: str, site: str, session_id: str) -> list[Located]:
        """A session's records in capture order; NotFound when it has none."""
        try:
            prefix = layout.session_prefix(account, site, session_id)
            records = [x for x in self.entries(account, self.state(prefix)) if x.session_id == session_id]
        except StorageError as e:  # an id the store cannot even spell is an id we never stored
            raise NotFound(f"no session {site}/{session_id}") from e
        if not records:
            raise NotFound(f"no session {site}/{session_id}")
        return records

    def sessions(self, account: str) -> list[list[Located]]:
        """Every session of the account with its records (one listing of the account's index)."""
        root = layout.sessions_prefix(account)
        groups: dict[str, list[str]] = {}
        for key in self._store.list(root):
            groups.setdefault(key.rsplit("/", 1)[0] + "/", []).append(key)
        out = []
        for prefix, keys in groups.items():
            state = self._states.peek(prefix)
            if state is None:
                state = SessionState(prefix)
                self._states.put(prefix, state)
            self._absorb(state, keys)
            records = self.entries(account, state)
            if records:
                out.append(records)
        return out

    # -- records and receipts --------------------------------------------------------------------

    def locate(self, account: str, record_id: str) -> Located | None:
        """A record by id alone, through the locators of its id prefix (this layout only)."""
        if not ULID_RE.match(record_id):
            return None
        for key in self._store.list(layout.locators_prefix(account, record_id)):
            found = self._locator(key).get(record_id)
            if found is not None:
                site, session_id = found
                state = self.state(layout.session_prefix(account, site, session_id), refresh=False)
                located = self.find(account, state, record_id)
                if located is None:
                    self.refresh(state)
                    located = self.find(account, state, record_id)
                if located is not None:
                    return located
        return None

    def _locator(self, key: str) -> dict[str, tuple[str, str]]:
        return self._locators.get(key, lambda: decode_locator(self._store.get(key), key))

    def record_pair(self, account: str, record_id: str) -> tuple[bytes, bytes | None]:
        """A record's exact bytes and its receipt's (None while a previous release's seal was unfinished)."""
        located = self.locate(account, record_id)
        if located is not None:
            return self.pairs([located])[0]
        if not ULID_RE.match(record_id):
            raise NotFound(f"no record {record_id!r:.40}")
        try:
            record = self._store.get(layout.record(account, record_id))
        except ObjectMissing as e:
            raise NotFound(f"no record {record_id!r:.40}") from e
        try:
            return record, self._store.get(layout.receipt(account, record_id))
        except ObjectMissing:
            return record, None

    def pairs(self, located: Sequence[Located]) -> list[tuple[bytes, bytes | None]]:
        """Records and receipts, with one ranged read per batch for records of one session."""
        out: list[tuple[bytes, bytes | None] | None] = [None] * len(located)
        by_batch: dict[str, list[tuple[int, Span]]] = {}
        for i, x in enumerate(located):
            span = x.span
            if span is None:
                record = self._store.get(layout.record(x.account, x.id))
                try:
                    out[i] = (record, self._store.get(layout.receipt(x.account, x.id)))
                except ObjectMissing:
                    out[i] = (record, None)
            else:
                by_batch.setdefault(x.batch_id, []).append((i, span))
        for batch_id, spans in by_batch.items():
            start = min(s.offset for _, s in spans)
            end = max(s.end for _, s in spans)
            data = self._store.get_range(layout.pack(batch_id), start, end - start)
            if len(data) != end - start:
                raise StorageError(f"pack of batch {batch_id} ends at byte {start + len(data)}, its index points "
                                   f"to byte {end}")
            for i, s in spans:
                at = s.offset - start
                out[i] = (data[at: at + s.record_len], data[at + s.record_len: at + s.record_len + s.receipt_len])
        return [p for p in out if p is not None]

    # -- batches and tokens ----------------------------------------------------------------------

    def stored_tokens(self, batch_id: str) -> tuple[StoredToken, ...]:
        return self._stored_tokens(batch_id)[0]

    def _stored_tokens(self, batch_id: str) -> tuple[tuple[StoredToken, ...], bool]:
        """(tokens, final): final once no TSA can add one (``late_stamps``)."""
        state = read_state(self._store, batch_id)
        if state is not None:
            return state.tokens, state.final
        tokens = []
        for key in self._store.list(layout.tokens_prefix(batch_id)):  # the previous release's tokens
            if key.endswith(".tst"):
                tsa = key.rsplit("/", 1)[1].removesuffix(".tst")
                meta: dict[str, Any] = {}
                try:
                    meta = fastjson.loads(self._store.get(layout.token_chain(batch_id, tsa)))
                except ObjectMissing:
                    pass
                tokens.append(StoredToken(tsa=tsa, token=self._store.get(key), untrusted=bool(meta.get("untrusted")),
                                          chain=str(meta.get("chain") or "")))
        return tuple(tokens), True

    def tokens(self, batch_id: str) -> tuple[TokenView, ...]:
        """A batch's tokens (empty while it is pending); kept once there are any."""
        cached = self._tokens.peek(batch_id)
        if cached is not None:
            return cached
        stored, final = self._stored_tokens(batch_id)
        views = tuple(token_view(t.tsa, t.token, t.untrusted, t.chain) for t in stored)
        # A batch still awaiting a TSA is read again next time: another instance may add its token.
        if views and final:
            self._tokens.put(batch_id, views)
        return views

    def revocation(self, batch_id: str) -> dict[str, bytes]:
        """Each TSA's archived revocation data for its token over the batch (``tsa_revocation``)."""
        prefix = layout.revocation_prefix(batch_id)
        return {key.removeprefix(prefix): self._store.get(key) for key in self._store.list(prefix)}

    def remember_tokens(self, batch_id: str, views: tuple[TokenView, ...]) -> None:
        """Keep a batch's tokens: only those of a batch no TSA can add to any more (``late_stamps``)."""
        if views:
            self._tokens.put(batch_id, views)

    def batch(self, account: str, batch_id: str) -> dict[str, Any]:
        """The public batch document, if ``account`` has records in the batch; else NotFound."""
        if not ULID_RE.match(batch_id):
            raise NotFound(f"no batch {batch_id!r:.40}")
        key = layout.pack(batch_id)
        try:
            head = self._store.get_range(key, 0, HEAD_PROBE)
        except ObjectMissing:
            if not self._store.exists(layout.account_batch(account, batch_id)):
                raise NotFound(f"no batch {batch_id!r:.40}") from None
            batch: dict[str, Any] = fastjson.loads(self._store.get(layout.batch_json(batch_id)))
            return batch
        needed = meta_length(head, key)
        if needed > len(head):
            head = self._store.get_range(key, 0, needed)
        meta = decode_meta(head, key)
        if account not in meta.accounts:
            raise NotFound(f"no batch {batch_id!r:.40}")
        return meta.batch

    @staticmethod
    def batch_json(batch: dict[str, Any]) -> bytes:
        """The batch document's bytes as bundles carry them (RFC 8785, as the previous release stored them)."""
        return canonicalize(batch)

    def receipt(self, receipt_bytes: bytes) -> Receipt:
        try:
            return Receipt.from_json(fastjson.loads(receipt_bytes))
        except (ValueError, PromptStampError) as e:
            raise StorageError(f"a stored receipt does not parse: {e}") from e
