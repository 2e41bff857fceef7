"""Offline verification of evidence bundles and of bare RFC 3161 tokens. No I/O beyond the input given.

Bundle checks run in this fixed order; each is recorded with its outcome and an expected-vs-found
reason, and a failure in one never stops the others (the person verifying sees everything wrong):

 1. container   a safe ZIP (limits, names), ``mimetype`` first and stored, only known file names
 2. manifest    ``META-INF/ASiCManifest001.xml`` lists every file outside META-INF/ with its SHA-256,
                and ``META-INF/timestamp001.tst`` is a valid RFC 3161 token over the manifest bytes
 3. sums        ``SHA256SUMS`` lists every file it must, each digest matches; ``SHA256SUMS.tst`` over it
 4. keys        each ``keys/<id>.pem`` is an Ed25519 key with that id; trusted only if the verifier said so
 5. batches     ``batch.json`` is canonical and names its root; every token verifies over the root
                (tokens.verify_token: signature, ESS, EKU, chain to a *given* root at genTime)
 6. records     per record: canonical bytes and schema, digest, attachments, receipt (canonical, names the
                record, signed by a bundle key), Merkle inclusion proof to the batch root, time-stamped,
                receipt time not after the TSA time
 7. chain       per device: seq 1, 2, 3... with every ``prev`` the digest of the step before; gaps,
                duplicates and reordering are named
 8. coverage    no receipt, blob or batch that no record explains

Trust is passed in (``Trust``): TSA roots and service keys. Certificates and keys inside the bundle
are used to build chains and check signatures, never as anchors.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from . import bundle, canonical, merkle, signing, tokens
from .bundle_reader import BundleFiles, parse_manifest, parse_sums, read_bundle
from .cms_envelope import check_envelope
from .errors import CanonicalizationError, InvalidInput, PromptStampError, UntrustedAnchor, VerificationError
from .forkmap import chunks, forkmap
from .model import TIMESTAMP_RE, Receipt, Record, parse_timestamp
from .token_report import check_token
from .verdict import Check, Outcome, Report, Run, Trust, iso_utc
from .zipsafe import DEFAULT_LIMITS, ContainerError, ZipLimits

__all__ = ["Trust", "Report", "check_bundle", "check_token", "verify_bundle", "verify_input",
           "trust_from_pems"]

# How much later than the TSA time a receipt's received_at may be: clocks of the service and the TSA differ.
CLOCK_SKEW = timedelta(seconds=5)
# Below these counts forking costs more than it saves.
PARALLEL_MIN_RECORDS = 2000
PARALLEL_MIN_TOKENS = 8


@dataclass
class _BatchState:
    root: bytes | None = None
    size: int = 0
    state: str = "unstamped"  # 'stamped' | 'untrusted' | 'unstamped'
    times: list[tuple[str, datetime]] = field(default_factory=list)  # (tsa, genTime) of tokens that hold


@dataclass(frozen=True, slots=True)
class _Step:
    """What the chain check and the facts need of a record (small, so workers can send it back)."""

    id: str
    seq: int
    prev: str | None
    digest: str
    device: str | None
    site: str
    session_id: str
    captured_at: str


@dataclass
class _Ctx:
    files: BundleFiles
    trust: Trust
    run: Run
    rests_on: list[str] = field(default_factory=list)
    keys: dict[str, signing.PublicKey] = field(default_factory=dict)
    batches: dict[str, _BatchState] = field(default_factory=dict)
    records: dict[str, _Step] = field(default_factory=dict)
    used_blobs: set[str] = field(default_factory=set)
    used_batches: set[str] = field(default_factory=set)
    used_keys: set[str] = field(default_factory=set)
    chain_certs: list[bytes] | None = None

    def check(self, step: str, subject: str, name: str, fn: Callable[[], str]) -> Outcome:
        try:
            detail = fn()
        except UntrustedAnchor as e:
            return self.run.add(step, subject, name, "untrusted", e.detail)
        except PromptStampError as e:
            return self.run.add(step, subject, name, "fail", e.detail)
        return self.run.add(step, subject, name, "ok", detail)


def _fail(detail: str) -> VerificationError:
    return VerificationError(detail)


def _json(files: BundleFiles, name: str) -> canonical.JsonValue:
    """Parse strictly and require the exact RFC 8785 bytes: what was signed is what is shown."""
    data = files.data[name]
    value = canonical.parse_json(data)
    if canonical.canonicalize(value) != data:
        raise CanonicalizationError(f"{name}: expected RFC 8785 canonical JSON bytes, found another serialization")
    return value


def check_bundle(source: BinaryIO | bytes, trust: Trust, *, limits: ZipLimits = DEFAULT_LIMITS,
                 workers: int = 1) -> Report:
    """Run every check on a bundle; never raises for bad evidence (the report says it), only records it.

    ``workers`` > 1 spreads the per-record checks of big bundles over forked processes (the CLI does;
    a web worker should not fork).
    """
    run = Run()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        files = read_bundle(stream, limits)
    except ContainerError as e:
        run.add("container", "container", "readable ASiC-E container", "fail", e.detail)
        return run.report("bundle")
    ctx = _Ctx(files, trust, run)
    _container(ctx)
    _manifest(ctx)
    _sums(ctx)
    _keys(ctx)
    _batches(ctx, workers)
    facts = _records(ctx, workers)
    _chain(ctx)
    _coverage(ctx)
    return run.report("bundle", ctx.rests_on, facts)


def verify_bundle(source: BinaryIO | bytes, trust: Trust, *, limits: ZipLimits = DEFAULT_LIMITS) -> Report:
    """Like ``check_bundle`` but raises VerificationError or UntrustedAnchor unless fully valid."""
    report = check_bundle(source, trust, limits=limits)
    report.raise_for_status()
    return report


# 1. container -------------------------------------------------------------------------------------
def _container(ctx: _Ctx) -> None:
    f = ctx.files
    ctx.run.add("container", "container", "ASiC-E container", "ok",
                f"ZIP with {len(f.digests) + 1} files, mimetype first and stored: {bundle.MIMETYPE}")
    for name in f.unknown:
        ctx.run.add("container", name, "known file name", "fail",
                    "expected only the names DESIGN.md lists (records/, receipts/, blobs/, batches/, keys/, "
                    "README.txt, report.html, verify.sh, SHA256SUMS[.tst], META-INF/), found an unknown file")
    for name in bundle.FIXED_NAMES:
        if name != "mimetype" and name not in f.entries:
            ctx.run.add("container", name, "required file", "fail", "expected in every bundle, found missing")


# 2. manifest and 3. sums -----------------------------------------------------------------------------
def _listing(ctx: _Ctx, step: str, listing: str, pairs: list[tuple[str, bytes]], wanted: Callable[[str], bool]) -> None:
    f = ctx.files
    listed: dict[str, bytes] = {}
    for name, digest in pairs:
        if name in listed:
            ctx.run.add(step, listing, "each file listed once", "fail", f"{name} is listed twice")
        listed[name] = digest
    for name in sorted(f.digests):
        if wanted(name) and name not in listed:
            ctx.run.add(step, name, f"listed in {listing}", "fail", f"expected in {listing}, found unlisted")
    bad = 0
    for name, digest in listed.items():
        if not wanted(name):
            bad += 1
            ctx.run.add(step, name, f"listed in {listing}", "fail", f"{listing} must not list {name}")
        elif name not in f.digests:
            bad += 1
            ctx.run.add(step, name, f"digest in {listing}", "fail", f"{listing} lists it, the container lacks it")
        elif f.digests[name] != digest:
            bad += 1
            ctx.run.add(step, name, f"digest in {listing}", "fail",
                        f"expected SHA-256 {digest.hex()} ({listing}), found {f.digests[name].hex()}")
    if not bad:
        ctx.run.add(step, listing, "every digest matches", "ok", f"{len(listed)} files")


def _export_token(ctx: _Ctx, step: str, token_name: str, data_name: str) -> None:
    f = ctx.files
    if token_name not in f.data or data_name not in f.data:
        return
    ctx.check(step, token_name, f"time-stamp over {data_name}",
              lambda: _token_detail(ctx, f.data[token_name], data=f.data[data_name], extra=_all_chain_certs(ctx)))


def _signed_listing(ctx: _Ctx, step: str, name: str, token_name: str, form: str,
                    parse: Callable[[bytes], list[tuple[str, bytes]]], wanted: Callable[[str], bool]) -> None:
    """A listing of file digests (the ASiC manifest, SHA256SUMS): its form, its entries, its token."""
    data = ctx.files.data.get(name)
    if data is None:
        return
    try:
        pairs = parse(data)
    except ContainerError as e:
        ctx.run.add(step, name, form, "fail", e.detail)
    else:
        _listing(ctx, step, name, pairs, wanted)
    _export_token(ctx, step, token_name, name)


def _manifest(ctx: _Ctx) -> None:
    _signed_listing(ctx, "manifest", bundle.MANIFEST, bundle.MANIFEST_TOKEN, "ASiC manifest form", parse_manifest,
                    bundle.in_manifest)


def _sums(ctx: _Ctx) -> None:
    _signed_listing(ctx, "sums", bundle.SUMS, bundle.SUMS_TOKEN, "SHA256SUMS form", parse_sums, bundle.in_sums)


# tokens ---------------------------------------------------------------------------------------------
def _all_chain_certs(ctx: _Ctx) -> list[bytes]:
    if ctx.chain_certs is None:
        certs: list[bytes] = []
        for pem in dict.fromkeys(ctx.files.data[e.name] for e in ctx.files.of_kind("chain")):
            try:
                certs += tokens.load_pem_certificates(pem)
            except InvalidInput:
                continue  # reported where the chain belongs (batches)
        ctx.chain_certs = list(dict.fromkeys(certs))
    return ctx.chain_certs


def _token_detail(ctx: _Ctx, token: bytes, *, extra: list[bytes], data: bytes | None = None,
                  digest: bytes | None = None, times: list[tuple[str, datetime]] | None = None,
                  tsa: str = "") -> str:
    try:
        verdict = tokens.verify_token(token, data=data, digest=digest, roots=ctx.trust.tsa_roots, extra_certs=extra)
    except tokens.UntrustedTokenRoot as e:
        _embedded_accounted(ctx, e.info, e.chain)
        check_envelope(token)
        ctx.rests_on.append(f"UNTRUSTED TSA root: chain stops at '{e.stopped_at}' (not among the roots you gave)")
        raise
    _embedded_accounted(ctx, verdict.info, verdict.chain)
    check_envelope(token)
    when = iso_utc(verdict.info.gen_time)
    if times is not None:
        times.append((tsa, verdict.info.gen_time))
    ctx.rests_on.append(f"TSA root '{verdict.root_subject}' (given by you)")
    notes = "; ".join(verdict.notes)
    return f"genTime {when}, signed by '{verdict.info.signer_subject}', root '{verdict.root_subject}'" + (
        f"; {notes}" if notes else "")


def _embedded_accounted(ctx: _Ctx, info: tokens.TokenInfo, chain: tuple[bytes, ...]) -> None:
    """Every certificate a token carries must be on its checked path or among the bundle's TSA certificates.

    The token's signature does not cover the certificates it carries, and nothing in the bundle covers the
    bytes of ``META-INF/timestamp001.tst``; so a certificate no check vouches for (an altered copy of the
    root, say) is refused rather than carried along unexamined.
    """
    known = set(chain) | set(ctx.trust.tsa_roots) | set(_all_chain_certs(ctx))
    stray = [der for der in info.certificates if der not in known]
    if stray:
        raise _fail(f"expected every embedded certificate on the validated path or among the bundle's TSA "
                    f"certificates, found {len(stray)} that no check vouches for (altered or foreign)")


# 4. keys --------------------------------------------------------------------------------------------
def _keys(ctx: _Ctx) -> None:
    for e in sorted(ctx.files.of_kind("key"), key=lambda e: e.name):
        kid = e.groups[0]

        def one(kid: str = kid, name: str = e.name) -> str:
            raw = _public_key(ctx.files.data[name])
            if signing.key_id(raw) != kid:
                raise _fail(f"expected key id {kid} (file name), found key {signing.key_id(raw)}")
            ctx.keys[kid] = signing.PublicKey(raw)
            if not ctx.trust.trusts_key(raw):
                ctx.rests_on.append(f"UNTRUSTED service key {kid} (SHA-256 {signing.fingerprint(raw)})")
                raise UntrustedAnchor(f"key {kid} is not among the keys you trust; compare SHA-256 "
                                      f"{signing.fingerprint(raw)} with the service's published keys")
            ctx.rests_on.append(f"service key {kid} (given by you)")
            return f"Ed25519 key {kid}, one of the keys you trust"

        ctx.check("keys", e.name, "service key", one)


def _public_key(pem: bytes | str) -> bytes:
    return signing.public_key_from_pem(pem)


# 5. batches -----------------------------------------------------------------------------------------
_TokenJob = tuple[str, str, str, bytes, tuple[bytes, ...]]  # batch id, token file, tsa, root, extra certs
_TokenResult = tuple[Check, list[str], list[tuple[str, datetime]]]


def _batch_token(ctx: _Ctx, job: _TokenJob) -> _TokenResult:
    _bid, name, tsa, root, extra = job
    sub = _Ctx(ctx.files, ctx.trust, Run(), chain_certs=ctx.chain_certs)
    times: list[tuple[str, datetime]] = []
    sub.check("batches", name, "time-stamp over the batch root",
              lambda: _token_detail(sub, ctx.files.data[name], digest=root, extra=list(extra), times=times, tsa=tsa))
    return sub.run.checks[0], sub.rests_on, times


def _batch_root(ctx: _Ctx, bid: str, state: _BatchState) -> str:
    value = _json(ctx.files, f"batches/{bid}/batch.json")
    if not isinstance(value, dict) or value.get("v") != 1 or value.get("id") != bid:
        raise _fail(f"expected {{'v': 1, 'id': '{bid}', ...}}, found another object")
    size = value.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise _fail(f"expected a positive integer size, found {size!r}")
    state.root, state.size = canonical.digest_bytes(str(value.get("root"))), size
    return f"root sha256:{state.root.hex()}, {size} records, sealed {value.get('sealed_at')}"


def _batches(ctx: _Ctx, workers: int = 1) -> None:
    """Batch roots first (cheap), then every token (path validation: spread over workers), then verdicts."""
    f = ctx.files
    ids = sorted({e.groups[0] for e in f.entries.values() if e.kind in ("batch", "token", "chain")})
    early: dict[str, Run] = {}
    jobs: list[_TokenJob] = []
    _all_chain_certs(ctx)  # computed once, before any fork
    for bid in ids:
        state = ctx.batches[bid] = _BatchState()
        sub = _Ctx(f, ctx.trust, early.setdefault(bid, Run()))
        name = f"batches/{bid}/batch.json"
        if name not in f.data:
            sub.run.add("batches", name, "batch root", "fail", "expected beside the batch's tokens, found missing")
            continue
        def root(b: str = bid, st: _BatchState = state) -> str:
            return _batch_root(ctx, b, st)

        if sub.check("batches", name, "batch root", root) != "ok":
            continue
        for tok in sorted((e for e in f.of_kind("token") if e.groups[0] == bid), key=lambda e: e.name):
            tsa = tok.groups[1]
            chain_name = f"batches/{bid}/{tsa}-chain.pem"
            extra: list[bytes] = []
            if chain_name in f.data:
                try:
                    extra = tokens.load_pem_certificates(f.data[chain_name])
                except InvalidInput as e:
                    sub.run.add("batches", chain_name, "TSA certificates", "fail", e.detail)
            jobs.append((bid, tok.name, tsa, state.root or b"", tuple(extra)))
    results = forkmap(_batch_token, ctx, jobs, workers if len(jobs) >= PARALLEL_MIN_TOKENS else 1)
    by_batch: dict[str, list[_TokenResult]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_batch.setdefault(job[0], []).append(result)
    for bid in ids:
        state = ctx.batches[bid]
        ctx.run.checks += early[bid].checks
        if state.root is None:
            continue
        outcomes: list[Outcome] = []
        for check, rests, times in by_batch.get(bid, []):
            ctx.run.checks.append(check)
            ctx.rests_on += rests
            state.times += times
            outcomes.append(check.outcome)
        if "fail" in outcomes:
            state.state = "failed"
        elif "ok" in outcomes:
            state.state = "stamped"
        elif "untrusted" in outcomes:
            state.state = "untrusted"
        else:
            ctx.run.add("batches", f"batches/{bid}/", "time-stamp over the batch root", "note",
                        "no token yet: the batch is pending, its records are not time-stamped")


# 6. records -----------------------------------------------------------------------------------------
_Chunk = tuple[list[Check], dict[str, _Step], set[str], set[str], set[str], list[str], list[datetime]]


def _record_range(ctx: _Ctx, names: list[str]) -> _Chunk:
    sub = _Ctx(ctx.files, ctx.trust, Run(), keys=ctx.keys, batches=ctx.batches)
    times: list[datetime] = []
    for name in names:
        rec = _record(sub, name, name[8:-5])
        if rec is None:
            continue
        _attachments(sub, rec)
        receipt = _receipt(sub, rec)
        if receipt is None:
            continue
        t = _inclusion(sub, rec, receipt)
        if t is not None:
            times.append(t)
    return sub.run.checks, sub.records, sub.used_blobs, sub.used_batches, sub.used_keys, sub.rests_on, times


def _record_chunks(ctx: _Ctx, names: list[str], workers: int) -> list[_Chunk]:
    """Per-record checks, in record order; split over forked processes for big bundles (CLI, bench)."""
    if workers <= 1 or len(names) < PARALLEL_MIN_RECORDS:
        return [_record_range(ctx, names)]
    return forkmap(_record_range, ctx, chunks(names, workers), workers)


def _records(ctx: _Ctx, workers: int = 1) -> dict[str, object]:
    names = sorted(e.name for e in ctx.files.of_kind("record"))
    sessions: dict[tuple[str, str], int] = defaultdict(int)
    stamped_times: list[datetime] = []
    for checks, records, blobs, batches, keys, rests, times in _record_chunks(ctx, names, workers):
        ctx.run.checks += checks
        ctx.records.update(records)
        ctx.used_blobs |= blobs
        ctx.used_batches |= batches
        ctx.used_keys |= keys
        ctx.rests_on += rests
        stamped_times += times
    for rec in ctx.records.values():
        sessions[(rec.site, rec.session_id)] += 1
    facts: dict[str, object] = {"records": len(ctx.records)}
    if sessions:
        (site, sid), _ = max(sessions.items(), key=lambda kv: kv[1])
        facts["session"] = f"{site}/{sid}"
        for (s, i), n in sessions.items():
            if (s, i) != (site, sid):
                ctx.run.add("records", f"{s}/{i}", "one session", "fail",
                            f"expected every record in session {site}/{sid}, found {n} record(s) of {s}/{i}")
    if ctx.records:
        caps = sorted(r.captured_at for r in ctx.records.values())
        facts["captured"] = f"{caps[0]} .. {caps[-1]}"
    if stamped_times:
        facts["time-stamped"] = f"{iso_utc(min(stamped_times))} .. {iso_utc(max(stamped_times))}"
    return facts


def _record(ctx: _Ctx, name: str, rid: str) -> Record | None:
    out: list[Record] = []

    def one() -> str:
        try:
            rec = Record.from_canonical(ctx.files.data[name])
        except CanonicalizationError as e:
            raise CanonicalizationError(f"{name}: {e.detail}") from e
        if rec.id != rid:
            raise _fail(f"expected record {rid} (file name), found record {rec.id}: records swapped or renamed")
        out.append(rec)
        return f"seq {rec.seq}, {rec.type}, digest {rec.digest}"

    if ctx.check("records", name, "record", one) != "ok":
        return None
    r = out[0]
    ctx.records[rid] = _Step(r.id, r.seq, r.prev, r.digest, r.device, r.site, r.session_id, r.captured_at)
    return r


def _attachments(ctx: _Ctx, rec: Record) -> None:
    for i, att in enumerate(rec.attachments):
        hexd = att.digest[7:]
        name = f"blobs/{hexd}"
        ctx.used_blobs.add(name)

        def one(name: str = name, hexd: str = hexd, size: int = att.bytes) -> str:
            if name not in ctx.files.digests:
                raise _fail(f"expected {name} (attachment sha256:{hexd}), found missing")
            found = ctx.files.digests[name].hex()
            if found != hexd:
                raise _fail(f"expected bytes with SHA-256 {hexd} (the record's attachment), found {found}")
            actual = ctx.files.sizes.get(name)
            if actual != size:
                raise _fail(f"expected {size} bytes (the record says), found {actual}")
            return f"{size} bytes match the record's digest"

        ctx.check("records", f"records/{rec.id}.json", f"attachment {i} ({att.role}, {att.media_type})", one)


def _receipt(ctx: _Ctx, rec: Record) -> Receipt | None:
    name = f"receipts/{rec.id}.json"
    out: list[Receipt] = []

    def one() -> str:
        if name not in ctx.files.data:
            raise _fail("expected a receipt for every record, found missing")
        data = ctx.files.data[name]
        receipt = Receipt.from_json(canonical.parse_json(data))
        if receipt.record != rec.digest or receipt.record_id != rec.id:
            raise _fail(f"expected record {rec.id} with digest {rec.digest}, found the receipt names "
                        f"{receipt.record_id} with digest {receipt.record}")
        key = ctx.keys.get(receipt.key)
        if key is None:
            raise _fail(f"expected keys/{receipt.key}.pem (a readable Ed25519 key), found no such key in the bundle")
        ctx.used_keys.add(receipt.key)
        key.verify(_signed_part(data, receipt.sig), signing.unb64(receipt.sig, "receipt.sig"))
        out.append(receipt)
        if not ctx.trust.trusts_key(key.raw):
            raise UntrustedAnchor(f"signature valid, by service key {receipt.key}, which you did not trust")
        return f"signed by service key {receipt.key}"

    if ctx.check("records", name, "receipt signature", one) == "fail":
        return None
    return out[0] if out else None


def _signed_part(data: bytes, sig: str) -> bytes:
    """The bytes the service signed: the receipt file without its ``"sig"`` member (DESIGN.md, "Receipt").

    Cheaper than re-serializing, and exact: a valid signature over these bytes proves the file is the
    RFC 8785 form of what was signed; any other serialization fails the signature.
    """
    member = b',"sig":"' + sig.encode("ascii", "replace") + b'"'
    if data.count(member) != 1:
        raise _fail('expected exactly one "sig" member in the receipt, found another form')
    return data.replace(member, b"", 1)


def _utc(value: str, what: str) -> datetime:
    if not TIMESTAMP_RE.match(value):
        parse_timestamp(value, what)  # raises with the model's wording
    return datetime.fromisoformat(value[:-1] + "+00:00")


def _inclusion(ctx: _Ctx, rec: Record, receipt: Receipt) -> datetime | None:
    ref = receipt.batch
    ctx.used_batches.add(ref.id)
    state = ctx.batches.get(ref.id)
    subject = f"receipts/{rec.id}.json"

    def proof() -> str:
        if state is None or state.root is None:
            raise _fail(f"expected batches/{ref.id}/batch.json with a readable root, found none")
        if canonical.digest_bytes(ref.root) != state.root or ref.size != state.size:
            raise _fail(f"expected root sha256:{state.root.hex()} and size {state.size} (batch.json), "
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
            raise _fail(f"expected received_at no later than the TSA time {iso_utc(first[1])}, found "
                        f"{receipt.received_at}")
        return f"captured {rec.captured_at}, received {receipt.received_at}, time-stamped {iso_utc(first[1])}"

    ctx.check("records", subject, "times in order", times)
    if _utc(rec.captured_at, "record.captured_at") > first[1] + CLOCK_SKEW:
        ctx.run.add("records", f"records/{rec.id}.json", "capture time", "note",
                    f"the device clock said {rec.captured_at}, after the TSA time {iso_utc(first[1])}")
    return first[1]


# 7. chain -------------------------------------------------------------------------------------------
def _chain(ctx: _Ctx) -> None:
    by_device: dict[str, list[_Step]] = defaultdict(list)
    for rec in ctx.records.values():
        by_device[rec.device or "(no device)"].append(rec)
    by_digest = {r.digest: r for r in ctx.records.values()}
    for device, recs in sorted(by_device.items()):
        recs.sort(key=lambda r: (r.seq, r.id))
        problems = 0
        expected_seq, prev_rec = 1, None
        for rec in recs:
            subject = f"records/{rec.id}.json"
            if prev_rec is not None and rec.seq == prev_rec.seq:
                problems += 1
                ctx.run.add("chain", subject, "seq", "fail",
                            f"duplicated step: records {prev_rec.id} and {rec.id} both have seq {rec.seq}")
                continue
            if rec.seq != expected_seq:
                problems += 1
                missing = (f"seq {expected_seq}" if rec.seq == expected_seq + 1
                           else f"seq {expected_seq} to {rec.seq - 1}")
                ctx.run.add("chain", subject, "seq", "fail",
                            f"gap: expected seq {expected_seq}, found {rec.seq}; {missing} missing from the bundle")
            elif prev_rec is not None and rec.prev != prev_rec.digest:
                problems += 1
                other = by_digest.get(rec.prev or "")
                found = f"record {other.id} (seq {other.seq})" if other else f"{rec.prev}, not in the bundle"
                ctx.run.add("chain", subject, "prev", "fail", f"reordered or altered: expected prev "
                            f"{prev_rec.digest} (seq {prev_rec.seq}), found {found}")
            expected_seq, prev_rec = rec.seq + 1, rec
        if not problems:
            ctx.run.add("chain", f"device {device}", "session chain", "ok",
                        f"seq 1..{recs[-1].seq} unbroken, every prev is the digest of the step before")
        ctx.run.add("chain", f"device {device}", "after the last step", "note",
                    f"the chain shows nothing is missing up to seq {recs[-1].seq}; it cannot show steps after it")


# 8. coverage ----------------------------------------------------------------------------------------
def _coverage(ctx: _Ctx) -> None:
    f = ctx.files
    for e in f.of_kind("receipt"):
        if e.groups[0] not in ctx.records and f"records/{e.groups[0]}.json" not in f.entries:
            ctx.run.add("coverage", e.name, "receipt has its record", "fail",
                        "expected records/" + e.groups[0] + ".json beside this receipt, found missing (removed?)")
    for e in f.of_kind("blob"):
        if e.name not in ctx.used_blobs:
            ctx.run.add("coverage", e.name, "blob is an attachment", "fail",
                        "expected every blob to be named by a record's attachments, found none naming it")
    for bid in ctx.batches:
        if bid not in ctx.used_batches:
            ctx.run.add("coverage", f"batches/{bid}/", "batch holds a record", "fail",
                        "expected every batch to hold a record of the bundle, found none")
    for kid in ctx.keys:
        if kid not in ctx.used_keys:
            ctx.run.add("coverage", f"keys/{kid}.pem", "key signs a receipt", "note", "no receipt uses this key")


# bare tokens ----------------------------------------------------------------------------------------
# entry points shared by the CLI and the verify page ----------------------------------------------------
def trust_from_pems(root_pems: Sequence[bytes], keys: Sequence[str | bytes]) -> tuple[Trust, tuple[bytes, ...]]:
    """Roots: the self-signed certificates of the given PEM bundles; the others become untrusted intermediates."""
    roots: list[bytes] = []
    intermediates: list[bytes] = []
    for pem in root_pems:
        for der in tokens.load_pem_certificates(pem):
            (roots if tokens.is_self_issued(der) else intermediates).append(der)
    return Trust.build(roots, keys), tuple(intermediates)


def verify_input(data: bytes, trust: Trust, *, stamped: bytes | None = None, digest_hex: str | None = None,
                 extra_certs: tuple[bytes, ...] = (), workers: int = 1) -> Report:
    """A bundle (a ZIP) or a bare token/response (anything else): the one engine for every front end."""
    if data[:2] == b"PK":
        if stamped is not None or digest_hex is not None:
            raise InvalidInput("data or digest are for a bare .tsr/.tst; a bundle carries its own data")
        return check_bundle(data, trust, workers=workers)
    if (stamped is None) == (digest_hex is None):
        raise InvalidInput("a bare time-stamp token needs exactly one of the stamped data or its hex digest")
    digest = None
    if digest_hex is not None:
        try:
            digest = bytes.fromhex(digest_hex.strip())
        except ValueError as e:
            raise InvalidInput(f"digest: expected hex, found {digest_hex[:80]!r}") from e
    return check_token(data, trust, data=stamped, digest=digest, extra_certs=extra_certs)
