"""Check 6, per record: canonical bytes, digest, attachments, receipt signature, inclusion, time-stamp."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .. import canonical, merkle, signing
from ..errors import CanonicalizationError, PromptStampError, UntrustedAnchor
from ..forkmap import chunks, forkmap
from ..model import TIMESTAMP_RE, Receipt, Record, parse_timestamp
from ..statements import SERVICE_SITE
from ..verdict import Check, Outcome, Run, iso_utc
from .context import CLOCK_SKEW, Ctx, Step, fail

# Below this many records forking costs more than it saves.
PARALLEL_MIN_RECORDS = 2000


_Chunk = tuple[list[Check], dict[str, Step], set[str], set[str], set[str], set[str], list[str], list[datetime]]


def _record_range(ctx: Ctx, names: list[str]) -> _Chunk:
    sub = Ctx(ctx.files, ctx.trust, Run(), keys=ctx.keys, batches=ctx.batches, device_keys=ctx.device_keys,
              trusted_keys=ctx.trusted_keys, record_files=ctx.record_files, receipt_files=ctx.receipt_files)
    times: list[datetime] = []
    for name in names:
        rec = _record(sub, name, name[8:-5])
        if rec is None:
            continue
        _attachments(sub, rec)
        receipt = _receipt(sub, rec)
        if receipt is None:
            continue
        signed = _device_signature(sub, rec, receipt)
        sub.records[rec.id] = _step(rec, receipt.account, signed)
        t = _inclusion(sub, rec, receipt)
        if t is not None:
            times.append(t)
    return (sub.run.checks, sub.records, sub.used_blobs, sub.used_batches, sub.used_keys, sub.used_device_keys,
            sub.rests_on, times)


def _record_chunks(ctx: Ctx, names: list[str], workers: int, meanwhile: Callable[[], None] | None) -> list[_Chunk]:
    """Per-record checks, in record order; split over forked processes for big bundles (CLI, bench)."""
    if workers <= 1 or len(names) < PARALLEL_MIN_RECORDS:
        workers = 1
    return forkmap(_record_range, ctx, chunks(names, workers) if workers > 1 else [names], workers, meanwhile)


def record_names(ctx: Ctx) -> list[str]:
    return sorted(e.name for e in ctx.files.of_kind("record"))


def parse_records(ctx: Ctx, names: list[str]) -> None:
    """Parse every record file and its receipt once, before any record check: the checks (here or in the
    forked workers, which inherit them), the author check and the re-rendered reports share them."""
    for name in names:
        rid = name[8:-5]
        try:
            rec: Record | PromptStampError = Record.from_canonical(ctx.files.data[name])
        except CanonicalizationError as e:
            rec = CanonicalizationError(f"{name}: {e.detail}")
            rec.__cause__ = e
        except PromptStampError as e:
            rec = e
        ctx.record_files[name] = rec
        receipt_name = f"receipts/{rid}.json"
        if receipt_name not in ctx.files.data:
            continue
        try:
            receipt: Receipt | PromptStampError = Receipt.from_json(canonical.parse_json(ctx.files.data[receipt_name]))
        except PromptStampError as e:
            receipt = e
        ctx.receipt_files[receipt_name] = receipt
        if isinstance(rec, Record) and rec.id == rid and isinstance(receipt, Receipt):
            ctx.parsed[rid] = (rec, receipt)


def check_records(ctx: Ctx, workers: int = 1, meanwhile: Callable[[], None] | None = None) -> dict[str, object]:
    """Check 6 for every record; ``meanwhile`` is work that needs the parsed records but not the checks
    (re-rendering the reports), done by this process while forked workers check."""
    names = record_names(ctx)
    if not ctx.record_files:
        parse_records(ctx, names)
    stamped_times: list[datetime] = []
    for checks, records, blobs, batches, keys, device_keys, rests, times in _record_chunks(ctx, names, workers,
                                                                                         meanwhile):
        ctx.run.checks += checks
        ctx.records.update(records)
        ctx.used_blobs |= blobs
        ctx.used_batches |= batches
        ctx.used_keys |= keys
        ctx.used_device_keys |= device_keys
        ctx.rests_on += rests
        stamped_times += times
    captured = [r for r in ctx.records.values() if r.site != SERVICE_SITE]
    facts: dict[str, object] = {"records": len(captured)}
    if len(captured) != len(ctx.records):
        facts["service records"] = len(ctx.records) - len(captured)  # account and pairing records
    if captured:
        caps = sorted(r.captured_at for r in captured)
        facts["captured"] = f"{caps[0]} .. {caps[-1]}"
    if stamped_times:
        facts["time-stamped"] = f"{iso_utc(min(stamped_times))} .. {iso_utc(max(stamped_times))}"
    return facts


def _record(ctx: Ctx, name: str, rid: str) -> Record | None:
    out: list[Record] = []

    def one() -> str:
        rec = ctx.record_files[name]  # parse_records
        if isinstance(rec, PromptStampError):
            raise rec
        if rec.id != rid:
            raise fail(f"expected record {rid} (file name), found record {rec.id}: records swapped or renamed")
        out.append(rec)
        return f"seq {rec.seq}, {rec.type}, digest {rec.digest}"

    if ctx.check("records", name, "record", one) != "ok":
        return None
    ctx.records[rid] = _step(out[0])
    return out[0]


def _step(r: Record, account: str = "", device_signed: bool = False) -> Step:
    return Step(r.id, r.seq, r.prev, r.digest, r.device, r.site, r.session_id, r.captured_at, r.type, account,
                device_signed)


def _attachments(ctx: Ctx, rec: Record) -> None:
    for i, att in enumerate(rec.attachments):
        hexd = att.digest[7:]
        name = f"blobs/{hexd}"
        ctx.used_blobs.add(name)

        def one(name: str = name, hexd: str = hexd, size: int = att.bytes) -> str:
            if name not in ctx.files.digests:
                raise fail(f"expected {name} (attachment sha256:{hexd}), found missing")
            found = ctx.files.digests[name].hex()
            if found != hexd:
                raise fail(f"expected bytes with SHA-256 {hexd} (the record's attachment), found {found}")
            actual = ctx.files.sizes.get(name)
            if actual != size:
                raise fail(f"expected {size} bytes (the record says), found {actual}")
            return f"{size} bytes match the record's digest"

        ctx.check("records", f"records/{rec.id}.json", f"attachment {i} ({att.role}, {att.media_type})", one)


def _receipt(ctx: Ctx, rec: Record) -> Receipt | None:
    name = f"receipts/{rec.id}.json"
    out: list[Receipt] = []

    def one() -> str:
        if name not in ctx.files.data:
            raise fail("expected a receipt for every record, found missing")
        data = ctx.files.data[name]
        receipt = ctx.receipt_files[name]  # parse_records
        if isinstance(receipt, PromptStampError):
            raise receipt
        # Expected is what the service signed (the receipt); found is what the bundle's file now is.
        if receipt.record_id != rec.id:
            raise fail(f"expected the receipt of record {rec.id}, found a receipt for record {receipt.record_id}")
        if receipt.record != rec.digest:
            raise fail(f"expected the digest the service signed, {receipt.record}, found {rec.digest}: the record "
                       "was changed after it was signed and time-stamped")
        key = ctx.keys.get(receipt.key)
        if key is None:
            raise fail(f"expected keys/{receipt.key}.pem (a readable Ed25519 key), found no such key in the bundle")
        ctx.used_keys.add(receipt.key)
        key.verify(_signed_part(data, receipt.sig), signing.unb64(receipt.sig, "receipt.sig"))
        out.append(receipt)
        if not _trusted(ctx, receipt.key, key):
            raise UntrustedAnchor(f"signature valid, by service key {receipt.key}, which you did not trust")
        return f"signed by service key {receipt.key}"

    if ctx.check("records", name, "receipt signature", one) == "fail":
        return None
    return out[0] if out else None


def _trusted(ctx: Ctx, kid: str, key: signing.PublicKey) -> bool:
    """Whether the verifier trusts this service key, decided once per key."""
    found = ctx.trusted_keys.get(kid)
    if found is None:
        found = ctx.trusted_keys[kid] = ctx.trust.trusts_key(key.raw)
    return found


def _device_signature(ctx: Ctx, rec: Record, receipt: Receipt) -> bool:
    """The creator's own signature (DESIGN.md, second release): Ed25519 by the device key over the record's
    exact bytes, kept in the receipt. Returns whether it holds."""
    name = f"records/{rec.id}.json"
    kid = receipt.device_key
    if kid is None:
        if rec.device is not None:
            ctx.run.add("records", name, "device signature", "fail",
                        f"expected the receipt to name device {rec.device} (client.device), found no device key")
            return False
        ctx.run.add("records", name, "device signature", "note",
                    "no device signature: this record rests on the service's receipt alone, not on the "
                    "creator's own key")
        return False
    ctx.used_device_keys.add(kid)
    if rec.device is not None and rec.device != kid:
        ctx.run.add("records", name, "device signature", "fail",
                    f"expected client.device {kid} (the receipt's device key), found {rec.device}")
        return False
    signature = receipt.device_sig
    if signature is None:
        # Receipts written before device signatures were kept: still valid (fields are added, never
        # reinterpreted), but the creator's signature cannot be checked by anyone but the service.
        ctx.run.add("records", name, "device signature", "note",
                    f"the service checked a signature by device key {kid} on arrival but this receipt predates "
                    "keeping it: the creator's signature cannot be checked here")
        return False

    def one() -> str:
        key = ctx.device_keys.get(kid)
        if key is None:
            raise fail(f"expected keys/devices/{kid}.pem (the device's public key), found no such key")
        key.verify(ctx.files.data[name], signing.unb64(signature, "receipt.device_sig"))
        return f"signed by the creator's device key {kid}"

    return ctx.check("records", name, "device signature", one) == "ok"


def _signed_part(data: bytes, sig: str) -> bytes:
    """The bytes the service signed: the receipt file without its ``"sig"`` member (DESIGN.md, "Receipt").

    Cheaper than re-serializing, and exact: a valid signature over these bytes proves the file is the
    RFC 8785 form of what was signed; any other serialization fails the signature.
    """
    member = b',"sig":"' + sig.encode("ascii", "replace") + b'"'
    if data.count(member) != 1:
        raise fail('expected exactly one "sig" member in the receipt, found another form')
    return data.replace(member, b"", 1)


def _utc(value: str, what: str) -> datetime:
    if not TIMESTAMP_RE.match(value):
        parse_timestamp(value, what)  # raises with the model's wording
    return datetime.fromisoformat(value[:-1] + "+00:00")


def _inclusion(ctx: Ctx, rec: Record, receipt: Receipt) -> datetime | None:
    ref = receipt.batch
    ctx.used_batches.add(ref.id)
    state = ctx.batches.get(ref.id)
    subject = f"receipts/{rec.id}.json"

    def proof() -> str:
        if state is None or state.root is None:
            raise fail(f"expected batches/{ref.id}/batch.json with a readable root, found none")
        if ref.root != state.root_text or ref.size != state.size:
            raise fail(f"expected root sha256:{state.root.hex()} and size {state.size} (batch.json), "
                        f"found {ref.root} and size {ref.size} in the receipt")
        merkle.verify_inclusion(rec.digest_raw, ref.index, ref.size, [bytes.fromhex(p) for p in ref.proof],
                                state.root)
        return f"leaf {ref.index} of {ref.size} leads to the batch root"

    if ctx.check("records", subject, "Merkle inclusion proof", proof) != "ok" or state is None:
        return None
    outcome: Outcome = {"stamped": "ok", "untrusted": "untrusted"}.get(state.state, "fail")  # type: ignore[assignment]
    if outcome == "fail":
        why = ("the batch has no token yet (pending): not time-stamped" if state.state == "unstamped"
               else "a token of the batch failed verification")
        ctx.run.add("records", subject, "time-stamped", "fail", why)
        return None
    first = min(state.times, key=lambda t: t[1]) if state.times else None
    detail = (f"by {first[0]} at {iso_utc(first[1])}" if first
              else "only by TSA roots you did not give")
    ctx.run.add("records", subject, "time-stamped", outcome, detail)
    if first is None:
        return None

    def times() -> str:
        received = _utc(receipt.received_at, "receipt.received_at")
        if received > first[1] + CLOCK_SKEW:
            raise fail(f"expected received_at no later than the TSA time {iso_utc(first[1])}, found "
                        f"{receipt.received_at}")
        return f"captured {rec.captured_at}, received {receipt.received_at}, time-stamped {iso_utc(first[1])}"

    ctx.check("records", subject, "times in order", times)
    if _utc(rec.captured_at, "record.captured_at") > first[1] + CLOCK_SKEW:
        ctx.run.add("records", f"records/{rec.id}.json", "capture time", "note",
                    f"the device clock said {rec.captured_at}, after the TSA time {iso_utc(first[1])}")
    return first[1]

