"""The formats of a sealed batch's write-once objects: its pack, its session index segments, its
record locators and its stamp (no I/O here; ``layout`` names the keys, ``index`` reads them).

A batch costs a fixed number of objects whatever its size, so an operator paying per request pays
per batch, not per record:

* the **pack** holds every record (exact RFC 8785 bytes) and signed receipt of the batch. It is the
  durability point of a group commit: everything needed to finish the batch after a crash. Layout::

      promptstamp-pack 1 <meta bytes> <table bytes>\\n
      <meta: JSON {"batch": the public batch document, "accounts": [...]}>\\n
      <table: JSON [[account, offset, record bytes, receipt bytes], ...] in tree order>\\n
      <body: record 0, receipt 0, record 1, receipt 1, ...>

  Offsets are absolute, so one ranged read returns a record with its receipt, and the records of
  one session, which the sealer keeps adjacent, come back in one ranged read per batch.
* one **index segment** per session the batch touches, numbered in the session's order (the
  write-once put of the next number is what makes two writers of one session take turns): what
  listing, search and idempotency need per record, and where its bytes sit in the pack.
* one **locator** per account (and per id prefix) the batch touches: which session a record id is
  in, so ``GET /v1/records/<id>`` finds it without scanning unrelated batches.
* the **stamp**: the batch's RFC 3161 tokens with their certificate chains, once a TSA answered.

None of these bytes are hashed or signed (records, receipts and the batch document inside are), so
they are written with the fast JSON encoder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import fastjson
from .errors import InvalidInput, StorageError
from .model import Record
from .signing import b64, unb64

PACK_MAGIC = b"promptstamp-pack 1 "
_FIRST_LINE_RE = re.compile(rb"promptstamp-pack 1 ([0-9]{1,12}) ([0-9]{1,12})\n")
#: A first line is at most this long; a ranged read of HEAD_PROBE bytes holds it and, usually, the meta.
FIRST_LINE_MAX = len(PACK_MAGIC) + 12 + 1 + 12 + 1
HEAD_PROBE = 16 * 1024
SNIPPET_CHARS = 240


@dataclass(frozen=True)
class PackEntry:
    account: str
    record: bytes  # exact RFC 8785 bytes
    receipt: bytes  # exact signed RFC 8785 bytes


@dataclass(frozen=True)
class Span:
    """Where one record and its receipt sit in a pack: record at offset, receipt right after it."""

    offset: int
    record_len: int
    receipt_len: int

    @property
    def end(self) -> int:
        return self.offset + self.record_len + self.receipt_len

    def to_json(self) -> list[int]:
        return [self.offset, self.record_len, self.receipt_len]

    @classmethod
    def from_json(cls, value: Any, where: str) -> Span:
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)):
            raise StorageError(f"{where}: expected [offset, record bytes, receipt bytes], found {value!r:.80}")
        return cls(value[0], value[1], value[2])


@dataclass(frozen=True)
class PackMeta:
    batch: dict[str, Any]  # the public batch document: v, id, root, size, sealed_at
    accounts: tuple[str, ...]
    table_offset: int
    table_len: int


def encode_pack(batch: Mapping[str, Any], entries: Sequence[PackEntry]) -> tuple[bytes, list[Span]]:
    """The pack's bytes and each entry's span in it."""
    meta = fastjson.dumps({"batch": dict(batch), "accounts": sorted({e.account for e in entries})})
    relative: list[tuple[str, int, int, int]] = []
    offset = 0
    for e in entries:
        relative.append((e.account, offset, len(e.record), len(e.receipt)))
        offset += len(e.record) + len(e.receipt)
    # The table holds absolute offsets, which depend on the table's own length: lay it out with
    # relative ones first, then shift by the head's length until the length stops changing.
    head_len = 0
    while True:
        table = fastjson.dumps([[a, head_len + o, r, c] for a, o, r, c in relative])
        first = PACK_MAGIC + f"{len(meta)} {len(table)}\n".encode()
        new_head_len = len(first) + len(meta) + 1 + len(table) + 1
        if new_head_len == head_len:
            break
        head_len = new_head_len
    body = b"".join(part for e in entries for part in (e.record, e.receipt))
    spans = [Span(head_len + o, r, c) for _, o, r, c in relative]
    return first + meta + b"\n" + table + b"\n" + body, spans


def _first_line(data: bytes, key: str) -> tuple[int, int, int]:
    end = data.find(b"\n", 0, FIRST_LINE_MAX)
    match = _FIRST_LINE_RE.fullmatch(data[: end + 1]) if end >= 0 else None
    if match is None:
        raise StorageError(f"{key}: expected a pack starting 'promptstamp-pack 1 <n> <n>', found {data[:40]!r}")
    return end + 1, int(match.group(1)), int(match.group(2))


def meta_length(head: bytes, key: str) -> int:
    """How many bytes from the start hold the first line and the meta (to read them in one range)."""
    line, meta_len, _ = _first_line(head, key)
    return line + meta_len + 1


def decode_meta(head: bytes, key: str) -> PackMeta:
    """The meta from the first bytes of a pack (at least ``meta_length`` of them)."""
    line, meta_len, table_len = _first_line(head, key)
    if len(head) < line + meta_len + 1 or head[line + meta_len: line + meta_len + 1] != b"\n":
        raise StorageError(f"{key}: pack meta of {meta_len} bytes is cut short or not followed by a newline")
    try:
        meta = fastjson.loads(head[line: line + meta_len])
        batch, accounts = meta["batch"], meta["accounts"]
        if not isinstance(batch, dict) or not isinstance(accounts, list):
            raise TypeError("batch must be an object and accounts an array")
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(f"{key}: unreadable pack meta: {e}") from e
    return PackMeta(batch=batch, accounts=tuple(str(a) for a in accounts), table_offset=line + meta_len + 1,
                    table_len=table_len)


def decode_pack(data: bytes, key: str) -> tuple[PackMeta, list[tuple[PackEntry, Span]]]:
    """A whole pack: its meta and every entry, with every span checked to lie inside the pack."""
    meta = decode_meta(data, key)
    start, end = meta.table_offset, meta.table_offset + meta.table_len
    try:
        table = fastjson.loads(data[start:end])
    except ValueError as e:
        raise StorageError(f"{key}: unreadable pack table: {e}") from e
    if not isinstance(table, list):
        raise StorageError(f"{key}: expected the pack table to be an array")
    entries = []
    body_start = end + 1
    for i, row in enumerate(table):
        if not isinstance(row, list) or len(row) != 4 or not isinstance(row[0], str):
            raise StorageError(f"{key}: pack table row {i} must be [account, offset, record bytes, receipt bytes]")
        span = Span.from_json(row[1:], f"{key}: pack table row {i}")
        if span.offset < body_start or span.end > len(data):
            raise StorageError(f"{key}: pack table row {i} points at bytes {span.offset}..{span.end}, outside the "
                               f"body {body_start}..{len(data)}")
        record_end = span.offset + span.record_len
        entries.append((PackEntry(row[0], data[span.offset:record_end], data[record_end:span.end]), span))
    return meta, entries


# -- index segments ---------------------------------------------------------------------------------


def segment_entry(record: Record, span: Span) -> dict[str, Any]:
    """One record's line in its session's index segment."""
    entry: dict[str, Any] = {"id": record.id, "seq": record.seq, "captured_at": record.captured_at,
                             "type": record.type, "digest": record.digest, "at": span.to_json()}
    session = record.value["session"]
    if isinstance(session, dict) and session.get("title"):
        entry["title"] = session["title"]
    if record.device:
        entry["device"] = record.device
    text = record.value.get("text")
    if isinstance(text, str) and text:
        # What the dashboard's search reads, so finding a session by its words needs no record reads.
        entry["snippet"] = text[:SNIPPET_CHARS]
    return entry


def segment(site: str, session_id: str, batch: Mapping[str, Any], entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A session index segment as ``decode_segment`` gives it back (``fastjson.dumps`` writes it)."""
    return {"v": 2, "site": site, "session": session_id, "batch": dict(batch), "records": list(entries)}


def decode_segment(data: bytes, key: str, legacy_batch_id: str | None = None) -> dict[str, Any]:
    """A session index object, either a segment (v 2) or the previous release's per-batch index (v 1,
    which names its batch only in its key and keeps records and receipts as objects of their own)."""
    try:
        index = fastjson.loads(data)
        version, site, session, records = index["v"], index["site"], index["session"], index["records"]
        if version not in (1, 2) or not isinstance(records, list):
            raise TypeError(f"version {version!r} with records of type {type(records).__name__}")
        if not isinstance(site, str) or not isinstance(session, str):
            raise TypeError("site and session must be strings")
        if version == 2:
            batch = index["batch"]
            if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
                raise TypeError("batch must be an object with an id")
            for i, entry in enumerate(records):
                Span.from_json(entry.get("at") if isinstance(entry, dict) else None, f"{key}: record {i}")
        else:
            if legacy_batch_id is None:
                raise TypeError("a version 1 index needs its batch id from its key")
            index["batch"] = {"id": legacy_batch_id}
        if not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in records):
            raise TypeError("every record needs an id")
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(f"{key}: unreadable session index: {e}") from e
    return dict(index)


# -- locators and stamps ----------------------------------------------------------------------------


def encode_locator(batch_id: str, sessions: Mapping[str, tuple[str, str]]) -> bytes:
    """Record id -> (site, session id) for one account's records of one batch."""
    return fastjson.dumps({"v": 1, "batch": batch_id, "records": {k: list(v) for k, v in sessions.items()}})


def decode_locator(data: bytes, key: str) -> dict[str, tuple[str, str]]:
    try:
        records = fastjson.loads(data)["records"]
        return {str(k): (str(v[0]), str(v[1])) for k, v in records.items()}
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise StorageError(f"{key}: unreadable record locator: {e}") from e


@dataclass(frozen=True)
class StoredToken:
    tsa: str
    token: bytes  # DER TimeStampToken
    untrusted: bool
    chain: str  # PEM: the certificates the token embeds, then the configured CA file


def encode_stamp(tokens: Sequence[StoredToken], awaiting: Sequence[str] = ()) -> bytes:
    """``awaiting``: the configured TSAs that had not answered yet (their tokens come later, ``late_stamps``)."""
    doc: dict[str, object] = {"v": 1, "tokens": [{"tsa": t.tsa, "token": b64(t.token), "untrusted": t.untrusted,
                                                  "chain": t.chain} for t in tokens]}
    if awaiting:
        doc["awaiting"] = sorted(awaiting)
    return fastjson.dumps(doc)


def stamp_awaiting(data: bytes, key: str) -> tuple[str, ...]:
    """The TSAs a stamp was written without (empty for a stamp every configured TSA answered)."""
    try:
        return tuple(str(n) for n in fastjson.loads(data).get("awaiting", ()))
    except (ValueError, TypeError, AttributeError) as e:
        raise StorageError(f"{key}: unreadable stamp: {e}") from e


def decode_stamp(data: bytes, key: str) -> tuple[StoredToken, ...]:
    try:
        return tuple(StoredToken(tsa=str(t["tsa"]), token=unb64(t["token"], f"{key}: token"),
                                 untrusted=bool(t["untrusted"]), chain=str(t["chain"]))
                     for t in fastjson.loads(data)["tokens"])
    except (ValueError, KeyError, TypeError, InvalidInput) as e:
        raise StorageError(f"{key}: unreadable stamp: {e}") from e
