"""Checks 4 and 5, and the anchors: service keys, batch roots and the TSA tokens over them.

Trust is passed in; certificates and keys inside the bundle build chains and check signatures, never
anchor them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from .. import canonical, signing, tokens
from ..cms_envelope import check_envelope
from ..errors import InvalidInput, UntrustedAnchor
from ..forkmap import forkmap
from ..verdict import Check, Outcome, Run, Trust, iso_utc
from .context import BatchState, Ctx, Standing, canonical_json, fail
from .revocation import revocation_detail

# Below this many tokens forking costs more than it saves.
PARALLEL_MIN_TOKENS = 8


def all_chain_certs(ctx: Ctx) -> list[bytes]:
    if ctx.chain_certs is None:
        certs: list[bytes] = []
        for pem in dict.fromkeys(ctx.files.data[e.name] for e in ctx.files.of_kind("chain")):
            try:
                certs += tokens.load_pem_certificates(pem)
            except InvalidInput:
                continue  # reported where the chain belongs (batches)
        ctx.chain_certs = list(dict.fromkeys(certs))
    return ctx.chain_certs


def token_detail(ctx: Ctx, token: bytes, *, extra: list[bytes], data: bytes | None = None,
                  digest: bytes | None = None, times: list[tuple[str, datetime]] | None = None,
                  tsa: str = "", revocation: bytes | None = None, standing: list[Standing] | None = None,
                  name: str = "") -> str:
    try:
        verdict = tokens.verify_token(token, data=data, digest=digest, roots=ctx.trust.tsa_roots, extra_certs=extra,
                                      at=ctx.trust.at)
    except tokens.UntrustedTokenRoot as e:
        ctx.token_infos[token] = e.info
        _embedded_accounted(ctx, e.info, e.chain)
        check_envelope(token)
        ctx.rests_on.append(f"UNTRUSTED TSA root: chain stops at '{e.stopped_at}' (not among the roots you gave)")
        raise
    ctx.token_infos[token] = verdict.info
    _embedded_accounted(ctx, verdict.info, verdict.chain)
    check_envelope(token)
    development = tokens.development_token_detail(verdict.info)
    if development is not None:
        ctx.rests_on.append(f"UNTRUSTED TSA: the development TSA (policy {tokens.DEV_TSA_POLICY})")
        raise UntrustedAnchor(development)
    when = iso_utc(verdict.info.gen_time)
    if times is not None:
        times.append((tsa, verdict.info.gen_time))
    ctx.rests_on.append(f"TSA root '{verdict.root_subject}' (given by you)")
    notes = "; ".join(verdict.notes)
    if revocation is not None:
        notes = "; ".join(n for n in (notes, revocation_detail(revocation, verdict.chain, verdict.info.gen_time)) if n)
    if standing is not None:
        standing.append(Standing(name=name, gen_time=verdict.info.gen_time, expires=verdict.expires,
                                 valid_at=verdict.valid_now, signer=verdict.info.signer_subject or "?"))
    return f"genTime {when}, signed by '{verdict.info.signer_subject}', root '{verdict.root_subject}'" + (
        f"; {notes}" if notes else "")


def _embedded_accounted(ctx: Ctx, info: tokens.TokenInfo, chain: tuple[bytes, ...]) -> None:
    """Every certificate a token carries must be on its checked path or among the bundle's TSA certificates.

    The token's signature does not cover the certificates it carries, and nothing in the bundle covers the
    bytes of ``META-INF/timestamp001.tst``; so a certificate no check vouches for (an altered copy of the
    root, say) is refused rather than carried along unexamined.
    """
    known = set(chain) | set(ctx.trust.tsa_roots) | set(all_chain_certs(ctx))
    stray = [der for der in info.certificates if der not in known]
    if stray:
        raise fail(f"expected every embedded certificate on the validated path or among the bundle's TSA "
                    f"certificates, found {len(stray)} that no check vouches for (altered or foreign)")


# 4. keys --------------------------------------------------------------------------------------------
def check_keys(ctx: Ctx) -> None:
    for e in sorted(ctx.files.of_kind("key"), key=lambda e: e.name):
        kid = e.groups[0]

        def one(kid: str = kid, name: str = e.name) -> str:
            raw = _public_key(ctx.files.data[name])
            if signing.key_id(raw) != kid:
                raise fail(f"expected key id {kid} (file name), found key {signing.key_id(raw)}")
            ctx.keys[kid] = signing.PublicKey(raw)
            if not ctx.trust.trusts_key(raw):
                ctx.rests_on.append(f"UNTRUSTED service key {kid} (SHA-256 {signing.fingerprint(raw)})")
                raise UntrustedAnchor(f"key {kid} is not among the keys you trust; compare SHA-256 "
                                      f"{signing.fingerprint(raw)} with the service's published keys")
            ctx.rests_on.append(f"service key {kid} (given by you)")
            return f"Ed25519 key {kid}, one of the keys you trust"

        ctx.check("keys", e.name, "service key", one)


def check_device_keys(ctx: Ctx) -> None:
    """Each ``keys/devices/<id>.pem`` is the Ed25519 key it is named after. A device key is the creator's,
    not an anchor: it is whose signature a record carries; the pairing record binds it to the account."""
    for e in sorted(ctx.files.of_kind("device_key"), key=lambda e: e.name):
        kid = e.groups[0]

        def one(kid: str = kid, name: str = e.name) -> str:
            raw = _public_key(ctx.files.data[name])
            if signing.key_id(raw) != kid:
                raise fail(f"expected key id {kid} (file name), found key {signing.key_id(raw)}")
            ctx.device_keys[kid] = signing.PublicKey(raw)
            return f"Ed25519 device key {kid}, SHA-256 {signing.fingerprint(raw)}"

        ctx.check("keys", e.name, "device key", one)


def _public_key(pem: bytes | str) -> bytes:
    return signing.public_key_from_pem(pem)


# 5. batches -----------------------------------------------------------------------------------------
# batch id, token file, tsa, root, extra certs, revocation data file ("" for none)
_TokenJob = tuple[str, str, str, bytes, tuple[bytes, ...], str]
_TokenResult = tuple[Check, list[str], list[tuple[str, datetime]], list[Standing], dict[bytes, tokens.TokenInfo]]


def _batch_token(ctx: Ctx, job: _TokenJob) -> _TokenResult:
    _bid, name, tsa, root, extra, revocation = job
    sub = Ctx(ctx.files, ctx.trust, Run(), chain_certs=ctx.chain_certs)
    times: list[tuple[str, datetime]] = []
    standing: list[Standing] = []
    sub.check("batches", name, "time-stamp over the batch root",
              lambda: token_detail(sub, ctx.files.data[name], digest=root, extra=list(extra), times=times, tsa=tsa,
                                   revocation=ctx.files.data[revocation] if revocation else None, standing=standing,
                                   name=name))
    return sub.run.checks[0], sub.rests_on, times, standing, sub.token_infos


def _distinct_token_results(ctx: Ctx, jobs: list[_TokenJob], workers: int,
                            meanwhile: Callable[[], None] | None) -> list[_TokenResult]:
    """Each distinct (token, root, certificates) is verified once; copies share its result under their names.

    A token repeated across thousands of batches would otherwise cost a path validation per copy.
    """
    distinct: dict[tuple[bytes, bytes, tuple[bytes, ...], bytes], _TokenJob] = {}
    keys = []
    for job in jobs:
        key = (ctx.files.digests[job[1]], job[3], job[4], ctx.files.digests[job[5]] if job[5] else b"")
        distinct.setdefault(key, job)
        keys.append(key)
    unique = list(distinct.values())
    done = dict(zip(distinct, forkmap(_batch_token, ctx, unique, workers if len(unique) >= PARALLEL_MIN_TOKENS else 1,
                                      meanwhile),
                    strict=True))
    out: list[_TokenResult] = []
    for job, key in zip(jobs, keys, strict=True):
        check, rests, times, standing, infos = done[key]
        out.append((replace(check, subject=job[1]), rests, [(job[2], t) for _, t in times],
                    [replace(s, name=job[1]) for s in standing], infos))
    return out


def _batch_root(ctx: Ctx, bid: str, state: BatchState) -> str:
    value = canonical_json(ctx.files, f"batches/{bid}/batch.json")
    if not isinstance(value, dict) or value.get("v") != 1 or value.get("id") != bid:
        raise fail(f"expected {{'v': 1, 'id': '{bid}', ...}}, found another object")
    size = value.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise fail(f"expected a positive integer size, found {size!r}")
    state.root, state.size = canonical.digest_bytes(str(value.get("root"))), size
    state.root_text = "sha256:" + state.root.hex()
    return f"root sha256:{state.root.hex()}, {size} records, sealed {value.get('sealed_at')}"


def check_batches(ctx: Ctx, workers: int = 1, meanwhile: Callable[[], None] | None = None) -> None:
    """Batch roots first (cheap), then every token (path validation: spread over workers), then verdicts.
    ``meanwhile``: work for this process while the workers check tokens."""
    f = ctx.files
    ids = sorted({e.groups[0] for e in f.entries.values() if e.kind in ("batch", "token", "chain", "evidence_record")})
    early: dict[str, Run] = {}
    jobs: list[_TokenJob] = []
    all_chain_certs(ctx)  # computed once, before any fork
    tokens_of: dict[str, list[str]] = {}  # batch id -> token files, indexed once (not a scan per batch)
    for e in f.of_kind("token"):
        tokens_of.setdefault(e.groups[0], []).append(e.name)
    chains: dict[bytes, list[bytes] | InvalidInput] = {}  # identical chain files are parsed once
    for bid in ids:
        state = ctx.batches[bid] = BatchState()
        sub = Ctx(f, ctx.trust, early.setdefault(bid, Run()))
        name = f"batches/{bid}/batch.json"
        if name not in f.data:
            sub.run.add("batches", name, "batch root", "fail", "expected beside the batch's tokens, found missing")
            continue
        def root(b: str = bid, st: BatchState = state) -> str:
            return _batch_root(ctx, b, st)

        if sub.check("batches", name, "batch root", root) != "ok":
            continue
        for token_name in sorted(tokens_of.get(bid, [])):
            tsa = f.entries[token_name].groups[1]
            chain_name = f"batches/{bid}/{tsa}-chain.pem"
            extra: list[bytes] = []
            if chain_name in f.data:
                pem = f.data[chain_name]
                if pem not in chains:
                    try:
                        chains[pem] = tokens.load_pem_certificates(pem)
                    except InvalidInput as e:
                        chains[pem] = e
                parsed = chains[pem]
                if isinstance(parsed, InvalidInput):
                    sub.run.add("batches", chain_name, "TSA certificates", "fail", parsed.detail)
                else:
                    extra = parsed
            revocation = f"batches/{bid}/{tsa}.ocsp.json"
            jobs.append((bid, token_name, tsa, state.root or b"", tuple(extra),
                         revocation if revocation in f.data else ""))
    results = _distinct_token_results(ctx, jobs, workers, meanwhile)
    by_batch: dict[str, list[_TokenResult]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_batch.setdefault(job[0], []).append(result)
    for bid in ids:
        state = ctx.batches[bid]
        ctx.run.checks += early[bid].checks
        if state.root is None:
            continue
        outcomes: list[Outcome] = []
        for check, rests, times, standing, infos in by_batch.get(bid, []):
            ctx.token_infos.update(infos)
            ctx.run.checks.append(check)
            ctx.rests_on += rests
            state.times += times
            state.standing += standing
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



def trust_from_pems(root_pems: Sequence[bytes], keys: Sequence[str | bytes]) -> tuple[Trust, tuple[bytes, ...]]:
    """Roots: the self-signed certificates of the given PEM bundles; the others become untrusted intermediates."""
    roots: list[bytes] = []
    intermediates: list[bytes] = []
    for pem in root_pems:
        for der in tokens.load_pem_certificates(pem):
            (roots if tokens.is_self_issued(der) else intermediates).append(der)
    return Trust.build(roots, keys), tuple(intermediates)

