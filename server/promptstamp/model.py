"""Record, Receipt and Batch value objects (DESIGN.md, "Formats").

``from_json`` validates everything the contract says; an invalid object cannot be constructed.
A Record keeps the parsed JSON value it came from, because its digest is computed from that value
(RFC 8785), and fields added by later versions must survive untouched.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .canonical import DIGEST_RE, JsonValue, canonicalize, parse_canonical, sha256_digest
from .errors import InvalidInput

# identity, drift and refs.supersedes: DESIGN.md, "Format additions for the second release".
RECORD_TYPES = ("prompt", "output", "edit", "regenerate", "parameters", "selection", "note", "import", "identity",
                "drift", "account", "pairing")
# Written by the service itself, in sessions of the reserved site "promptstamp" (statements.py); a client
# cannot send them.
SERVICE_RECORD_TYPES = ("account", "pairing")
ACTORS = ("user", "ai")
# The one spelling of an id: a ULID (48-bit time, 80 random bits, Crockford base32; the first
# character is at most 7 because 26 characters hold 130 bits). Record, batch ids and bundle names use it.
ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
ULID_RE = re.compile(f"^{ULID}$")
SITE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
MEDIA_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_NODE_RE = re.compile(r"[0-9a-f]{64}")
MAX_SESSION_ID = 512
MAX_TEXT = 1_000_000
# A session id is visible ASCII (no space, no backslash), and no "/"-separated part of it is "." or
# "..": ids appear in URL paths, where "." and ".." segments are normalized away by every client, so
# such a session would be acknowledged and then unreachable. The extension's page sessions use
# "https://host/path" ids, so "/" and ":" are allowed.
SESSION_ID_RE = re.compile(r"^[\x21-\x5b\x5d-\x7e]{1,512}$")
MAX_PARAMS_DEPTH = 16  # params nest a few levels at most; deeper input is refused before any recursion


def _fail(path: str, expected: str, found: Any) -> InvalidInput:
    shown = type(found).__name__ if not isinstance(found, (str, int, float, bool)) else repr(found)[:80]
    if found is None:
        shown = "null"
    return InvalidInput(f"{path}: expected {expected}, found {shown}", code="invalid_record")


def _check_depth(value: Any, path: str, limit: int) -> None:
    """Iteratively (no recursion to exhaust): containers may nest ``limit`` levels below ``value``."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    raise InvalidInput(f"{path}: nested more than {limit} levels deep (the limit)",
                                       code="invalid_record")
                stack.append((child, depth + 1))


def _require(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise InvalidInput(f"{path}.{key}: required field is missing", code="invalid_record")
    return obj[key]


def _string(value: Any, path: str, *, max_len: int = 4096, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(path, "a string", value)
    if not value and not allow_empty:
        raise _fail(path, "a non-empty string", value)
    if len(value) > max_len:
        raise InvalidInput(f"{path}: string of {len(value)} characters exceeds {max_len}", code="invalid_record")
    return value


def _int(value: Any, path: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, "an integer", value)
    if value < minimum:
        raise _fail(path, f"an integer >= {minimum}", value)
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "an object", value)
    return value


def _no_nulls(obj: Mapping[str, Any], path: str, allowed: tuple[str, ...] = ()) -> None:
    for k, v in obj.items():
        if v is None and k not in allowed:
            raise InvalidInput(
                f"{path}.{k}: null is not allowed; omit fields that do not apply", code="invalid_record"
            )


def parse_timestamp(value: Any, path: str) -> datetime:
    """RFC 3339 UTC with 'Z' and milliseconds, e.g. 2026-11-28T12:00:00.123Z."""
    text = _string(value, path, max_len=64)
    if not TIMESTAMP_RE.match(text):
        raise _fail(path, "an RFC 3339 UTC time like 2026-11-28T12:00:00.123Z", text)
    try:
        return datetime.fromisoformat(text)  # the regex above pinned the exact form; this checks the calendar
    except ValueError as e:
        raise InvalidInput(f"{path}: {text!r} is not a real date and time ({e})", code="invalid_record") from e


def iso_utc(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC with 'Z' and the fraction it carries (a token's genTime, a report
    line): the one spelling of times we did not make ourselves."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def check_digest(value: Any, path: str) -> str:
    if not isinstance(value, str) or not DIGEST_RE.match(value):
        raise _fail(path, "a digest 'sha256:<64 lowercase hex>'", value)
    return value


def _check_additions(obj: Mapping[str, Any], rtype: str, record_id: str) -> None:
    """The second release's fields: what an identity and a drift record must name, and what a
    superseding record may point at (an earlier record, never itself)."""
    refs = obj.get("refs", {})
    if "supersedes" in refs:
        target = refs["supersedes"]
        if not ULID_RE.match(target):
            raise _fail("record.refs.supersedes", "the id (ULID) of the record this one supersedes", target)
        if target == record_id:
            raise InvalidInput("record.refs.supersedes: a record cannot supersede itself", code="invalid_record")
    required = {"identity": ("site_user_id", "the site's user id"),
                "drift": ("code", "the drift code, e.g. no-answer"),
                "account": ("display_name", "the name the account's owner gave"),
                "pairing": ("device_key", "the paired device's key id")}.get(rtype)
    if required is None:
        return
    key, meaning = required
    params = obj.get("params")
    if not isinstance(params, dict) or key not in params:
        raise InvalidInput(f"record.params.{key}: {rtype} records must name {meaning}", code="invalid_record")
    _string(params[key], f"record.params.{key}", max_len=256)


_ADAPTER_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}@[0-9]{1,6}$")


def drift_adapter_label(record: Record) -> str:
    """The adapter a drift record blames (params.adapter, else client.adapter), as a metric label:
    anything not shaped like ``site@version`` is "other", so clients cannot mint unbounded labels."""
    params = record.value.get("params")
    client = record.value.get("client")
    named = params.get("adapter") if isinstance(params, dict) else None
    if not isinstance(named, str) and isinstance(client, dict):
        named = client.get("adapter")
    return named if isinstance(named, str) and _ADAPTER_LABEL_RE.match(named) else "other"


@dataclass(frozen=True)
class Attachment:
    digest: str
    media_type: str
    bytes: int
    role: str

    @classmethod
    def from_json(cls, value: Any, path: str) -> Attachment:
        obj = _object(value, path)
        _no_nulls(obj, path)
        att = cls(
            digest=check_digest(_require(obj, "digest", path), f"{path}.digest"),
            media_type=_string(_require(obj, "media_type", path), f"{path}.media_type", max_len=255),
            bytes=_int(_require(obj, "bytes", path), f"{path}.bytes"),
            role=_string(_require(obj, "role", path), f"{path}.role", max_len=64),
        )
        if not MEDIA_TYPE_RE.match(att.media_type):
            raise _fail(f"{path}.media_type", "a media type like image/png", att.media_type)
        if "source_url" in obj:
            _string(obj["source_url"], f"{path}.source_url", max_len=8192)
        return att


@dataclass(frozen=True)
class Record:
    """One step of a creative session, exactly as the client sent it (parsed JSON)."""

    value: Mapping[str, JsonValue] = field(repr=False)
    id: str
    type: str
    site: str
    session_id: str
    seq: int
    prev: str | None
    captured_at: str
    actor: str
    device: str | None
    attachments: tuple[Attachment, ...]
    canonical: bytes = field(repr=False)
    digest: str

    @classmethod
    def from_json(cls, value: Any, *, canonical: bytes | None = None) -> Record:
        """Validate a parsed record. ``canonical`` may pass its RFC 8785 bytes when the caller already
        has them from ``canonical.parse_canonical`` (which checked they are exactly that)."""
        obj = _object(value, "record")
        _no_nulls(obj, "record", allowed=("prev",))
        if _require(obj, "v", "record") != 1 or isinstance(obj["v"], bool):
            raise _fail("record.v", "1 (the only record version this server knows)", obj["v"])
        record_id = _string(_require(obj, "id", "record"), "record.id", max_len=26)
        if not ULID_RE.match(record_id):
            raise _fail("record.id", "a ULID (26 Crockford base32 characters)", record_id)
        rtype = _string(_require(obj, "type", "record"), "record.type", max_len=32)
        if rtype not in RECORD_TYPES:
            raise _fail("record.type", "one of " + "|".join(RECORD_TYPES), rtype)
        session = _object(_require(obj, "session", "record"), "record.session")
        _no_nulls(session, "record.session")
        site = _string(_require(session, "site", "record.session"), "record.session.site", max_len=64)
        if not SITE_RE.match(site):
            raise _fail("record.session.site", "a lowercase site name like chatgpt", site)
        session_id = _string(
            _require(session, "id", "record.session"), "record.session.id", max_len=MAX_SESSION_ID
        )
        if not SESSION_ID_RE.match(session_id) or ("." in session_id
                                                   and any(part in (".", "..") for part in session_id.split("/"))):
            raise _fail("record.session.id", "visible ASCII without backslash, no '.' or '..' path segment "
                                             "(docs: the session id's safe set)", session_id)
        for opt in ("url", "title"):
            if opt in session:
                _string(session[opt], f"record.session.{opt}", max_len=8192, allow_empty=True)
        seq = _int(_require(obj, "seq", "record"), "record.seq", minimum=1)
        prev = _require(obj, "prev", "record")
        if prev is not None:
            check_digest(prev, "record.prev")
        if seq == 1 and prev is not None:
            raise InvalidInput("record.prev: the first record of a chain (seq 1) must have prev null",
                               code="invalid_record")
        if seq > 1 and prev is None:
            raise InvalidInput(f"record.prev: seq {seq} needs the digest of record {seq - 1}, found null",
                               code="invalid_record")
        captured_at = _require(obj, "captured_at", "record")
        parse_timestamp(captured_at, "record.captured_at")
        actor = _string(_require(obj, "actor", "record"), "record.actor", max_len=16)
        if actor not in ACTORS:
            raise _fail("record.actor", "user|ai", actor)
        client = _object(_require(obj, "client", "record"), "record.client")
        _no_nulls(client, "record.client")
        _string(_require(client, "app", "record.client"), "record.client.app", max_len=128)
        if "adapter" in client:
            _string(client["adapter"], "record.client.adapter", max_len=128)
        device = None
        if "device" in client:
            device = _string(client["device"], "record.client.device", max_len=16)
            if not KEY_ID_RE.match(device):
                raise _fail("record.client.device", "a key id (16 lowercase hex)", device)
        if "text" in obj:
            _string(obj["text"], "record.text", max_len=MAX_TEXT, allow_empty=True)
        if "params" in obj:
            _check_depth(_object(obj["params"], "record.params"), "record.params", MAX_PARAMS_DEPTH)
        if "refs" in obj:
            refs = _object(obj["refs"], "record.refs")
            _no_nulls(refs, "record.refs")
            for k, v in refs.items():
                _string(v, f"record.refs.{k}", max_len=1024)
        _check_additions(obj, rtype, record_id)
        attachments: tuple[Attachment, ...] = ()
        if "attachments" in obj:
            items = obj["attachments"]
            if not isinstance(items, list):
                raise _fail("record.attachments", "an array", items)
            attachments = tuple(
                Attachment.from_json(item, f"record.attachments[{i}]") for i, item in enumerate(items)
            )
        if canonical is None:
            canonical = canonicalize(obj)
        return cls(
            value=obj, id=record_id, type=rtype, site=site, session_id=session_id, seq=seq, prev=prev,
            captured_at=captured_at, actor=actor, device=device, attachments=attachments,
            canonical=canonical, digest=sha256_digest(canonical),
        )

    @classmethod
    def from_canonical(cls, data: bytes) -> Record:
        """A record from its exact RFC 8785 bytes (as stored, or as a bundle holds them); anything else
        raises CanonicalizationError."""
        return cls.from_json(parse_canonical(data), canonical=data)

    @property
    def digest_raw(self) -> bytes:
        return bytes.fromhex(self.digest[7:])  # from sha256_digest, so always 'sha256:' and 64 hex


@dataclass(frozen=True)
class BatchRef:
    """Where a record sits in its batch: the receipt's ``batch`` member."""

    id: str
    root: str
    size: int
    index: int
    proof: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "root": self.root, "size": self.size, "index": self.index,
                "proof": list(self.proof)}

    @classmethod
    def from_json(cls, value: Any) -> BatchRef:
        obj = _object(value, "receipt.batch")
        proof = _require(obj, "proof", "receipt.batch")
        if not isinstance(proof, list) or not all(isinstance(p, str) and _NODE_RE.fullmatch(p) for p in proof):
            raise _fail("receipt.batch.proof", "an array of 64-hex node hashes", proof)
        return cls(
            id=_string(_require(obj, "id", "receipt.batch"), "receipt.batch.id", max_len=64),
            root=check_digest(_require(obj, "root", "receipt.batch"), "receipt.batch.root"),
            size=_int(_require(obj, "size", "receipt.batch"), "receipt.batch.size", minimum=1),
            index=_int(_require(obj, "index", "receipt.batch"), "receipt.batch.index"),
            proof=tuple(proof),
        )


@dataclass(frozen=True)
class Receipt:
    """The service's signed statement that it received a record and where it sits in a batch."""

    record: str
    record_id: str
    account: str
    received_at: str
    batch: BatchRef
    device_key: str | None
    key: str
    sig: str = ""
    # The device's own Ed25519 signature over JCS(record), kept as evidence (DESIGN.md, second release):
    # present exactly when device_key is; absent from receipts written before it was kept.
    device_sig: str | None = None

    def unsigned_json(self) -> dict[str, Any]:
        body = {"v": 1, "record": self.record, "record_id": self.record_id, "account": self.account,
                "received_at": self.received_at, "batch": self.batch.to_json(),
                "device_key": self.device_key, "key": self.key}
        if self.device_sig is not None:
            body["device_sig"] = self.device_sig
        return body

    def signed_bytes(self) -> bytes:
        """What the service key signs: JCS of the receipt without ``sig``."""
        plain = self._plain_signed_bytes()
        return plain if plain is not None else canonicalize(self.unsigned_json())

    def _plain_signed_bytes(self) -> bytes | None:
        """The same bytes laid out directly, for the receipts the sealer makes (one per record, a tenth
        of a worker's time through the general serializer); None when a value is not plain.

        Exact RFC 8785 when every string is printable ASCII without '"' or '\\' (§3.2.2.2 leaves such
        a string as it is) and every number is a non-negative integer below 2^53 (§3.2.2.3: its
        decimal digits). Members in §3.2.3 order: the names are ASCII, so code-unit order is byte order.
        """
        b = self.batch
        strings = (self.account, self.record, self.record_id, self.received_at, self.key, b.id, b.root, *b.proof)
        optional = tuple(v for v in (self.device_key, self.device_sig) if v is not None)
        if (not all(type(v) is str and _PLAIN_STRING_RE.fullmatch(v) for v in strings + optional)
                or not all(type(n) is int and 0 <= n <= _MAX_PLAIN_INT for n in (b.size, b.index))
                or (self.device_sig is not None and self.device_key is None)):
            return None
        device_key = "null" if self.device_key is None else f'"{self.device_key}"'
        device_sig = "" if self.device_sig is None else f',"device_sig":"{self.device_sig}"'
        proof = ",".join(f'"{p}"' for p in b.proof)
        return (f'{{"account":"{self.account}","batch":{{"id":"{b.id}","index":{b.index},"proof":[{proof}],'
                f'"root":"{b.root}","size":{b.size}}},"device_key":{device_key}{device_sig},"key":"{self.key}",'
                f'"received_at":"{self.received_at}","record":"{self.record}","record_id":"{self.record_id}",'
                f'"v":1}}').encode("ascii")

    def to_json(self) -> dict[str, Any]:
        return {**self.unsigned_json(), "sig": self.sig}

    def canonical(self) -> bytes:
        return canonicalize(self.to_json())

    @staticmethod
    def signed_canonical(signed_bytes: bytes, sig: str) -> bytes:
        """``canonical()`` of the receipt whose ``signed_bytes()`` are given, once ``sig`` is set,
        without serializing it all again (the sealer does this once per record).

        RFC 8785 §3.2.3 orders members by name: "sig" sorts after every other member but "v", which is
        last and always 1, so the signed receipt is the unsigned one with ``"sig":"..."`` before
        ``"v":1``. A base64 signature needs no escaping (§3.2.2.2)."""
        if not signed_bytes.endswith(_RECEIPT_TAIL) or not _BASE64_RE.fullmatch(sig):
            raise ValueError("expected the unsigned receipt's RFC 8785 bytes and a base64 signature")
        return signed_bytes[: -len(_RECEIPT_TAIL)] + b',"sig":"' + sig.encode("ascii") + b'"' + _RECEIPT_TAIL

    @classmethod
    def from_json(cls, value: Any) -> Receipt:
        obj = _object(value, "receipt")
        if obj.get("v") != 1:
            raise _fail("receipt.v", "1", obj.get("v"))
        device_key = _require(obj, "device_key", "receipt")
        if device_key is not None:
            _string(device_key, "receipt.device_key", max_len=16)
        device_sig = obj.get("device_sig")
        if device_sig is not None:
            _string(device_sig, "receipt.device_sig", max_len=128)
            if device_key is None:
                raise _fail("receipt.device_sig", "absent when device_key is null", "a signature")
        return cls(
            record=check_digest(_require(obj, "record", "receipt"), "receipt.record"),
            record_id=_string(_require(obj, "record_id", "receipt"), "receipt.record_id", max_len=26),
            account=_string(_require(obj, "account", "receipt"), "receipt.account", max_len=64),
            received_at=_string(_require(obj, "received_at", "receipt"), "receipt.received_at", max_len=64),
            batch=BatchRef.from_json(_require(obj, "batch", "receipt")),
            device_key=device_key,
            key=_string(_require(obj, "key", "receipt"), "receipt.key", max_len=16),
            sig=_string(_require(obj, "sig", "receipt"), "receipt.sig", max_len=128),
            device_sig=device_sig,
        )


_RECEIPT_TAIL = b',"v":1}'
_PLAIN_STRING_RE = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')  # printable ASCII but '"' and '\\'
_MAX_PLAIN_INT = 2**53 - 1
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_time_ms(ulid: str) -> int:
    """The creation time (Unix ms) a ULID carries in its first 10 characters."""
    value = 0
    for ch in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(ch)
    return value


def new_ulid() -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32; sorts by creation time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
