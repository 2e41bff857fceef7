"""Check 5b, long-term: each batch's time still rests on a certificate valid at the verification time,
directly or through its RFC 4998 evidence record (``batches/<id>/evidence.ers``; ``ers``).

A token is checked at its genTime (check 5). Once its TSA certificate has expired, that alone no longer
proves the time: a key may be compromised after its certificate ends, and nobody watches it any more.
What carries the proof on is an archive time-stamp made while the certificate was still valid, over the
token's file, then each later archive time-stamp over the one before, made before that one's certificate
expired, up to one whose certificate is valid at the verification time (RFC 4998 §5.3).

For each archive time-stamp: its reduced hash tree leads from the hash of what it covers to its token's
imprint (§4.3); its token passes every check of ``tokens.verify_token`` at its genTime against the roots
the verifier gave, with the certificates it carries; and the OCSP responses it carries are judged at its
genTime (``ocsp``). A batch whose tokens have all lapsed without such a chain is not invalid, but its
time rests on something the verifier cannot check: it is reported untrusted (exit 2), with the date.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .. import ers, tokens
from ..bundle_names import EVIDENCE_RECORD
from ..errors import InvalidInput, TokenError, UntrustedAnchor
from ..ocsp import judge, read_response
from ..verdict import iso_utc
from .context import BatchState, Ctx, Standing, fail
from .trust import all_chain_certs


def check_renewals(ctx: Ctx) -> None:
    at = ctx.trust.at or datetime.now(UTC)
    for bid, state in sorted(ctx.batches.items()):
        name = f"batches/{bid}/{EVIDENCE_RECORD}"
        if state.root is None or (name not in ctx.files.data and all(s.valid_at for s in state.standing)):
            continue
        def one(b: str = bid, st: BatchState = state, n: str = name) -> str:
            return _long_term(ctx, b, st, n, at)

        ctx.check("batches", name if name in ctx.files.data else f"batches/{bid}/", "time-stamp valid long-term", one)


def _long_term(ctx: Ctx, bid: str, state: BatchState, name: str, at: datetime) -> str:
    when = iso_utc(at)
    renewals = _evidence_record(ctx, bid, name) if name in ctx.files.data else None
    direct = [s for s in state.standing if s.valid_at]
    if renewals is None and direct:  # another TSA's token still proves the time on its own
        lapsed = ", ".join(f"{s.name} ({_expiry(s)})" for s in state.standing if not s.valid_at)
        return f"{direct[0].name} is valid at {when}; lapsed without an archive time-stamp: {lapsed}"
    if renewals is None:
        lapsed = ", ".join(f"{s.name} ({_expiry(s)})" for s in state.standing)
        ctx.rests_on.append(f"LAPSED TSA certificate: batch {bid} has no archive time-stamp")
        raise UntrustedAnchor(f"expected a TSA certificate valid at {when} or an archive time-stamp made before "
                              f"it expired, found neither: {lapsed}; the time then rests on the TSA's key having "
                              f"stayed safe after its certificate ended (run 'promptstamp renew' on the service "
                              f"before certificates expire)")
    covered, chain_text, last_valid, first_time = renewals
    if direct:
        return f"{direct[0].name} is valid at {when}; and {chain_text}"
    carried = [s for s in state.standing if s.name in covered and (s.expires is None or first_time < s.expires)]
    if not carried:
        raise fail(f"expected the first archive time-stamp ({iso_utc(first_time)}) to cover a token before its "
                   f"certificate expired, found none it carries: "
                   + ", ".join(f"{s.name} ({_expiry(s)})" for s in state.standing))
    if not last_valid:
        ctx.rests_on.append(f"LAPSED archive time-stamp: batch {bid}'s last renewal is not valid at {when}")
        raise UntrustedAnchor(f"expected the last archive time-stamp's certificate valid at {when}, found it lapsed: "
                              f"{chain_text}; renew again")
    return f"{carried[0].name} ({_expiry(carried[0])}) is carried to {when} by {chain_text}"


def _expiry(s: Standing) -> str:
    return f"certificate expires {iso_utc(s.expires)}" if s.expires else "no expiry on its path"


def _evidence_record(ctx: Ctx, bid: str, name: str) -> tuple[set[str], str, bool, datetime]:
    """Verify the record's chain: (the batch files its first time-stamp covers, a description, whether the last
    is valid at the verification time, the first genTime). Raises for anything that does not hold."""
    try:
        chain = ers.decode(ctx.files.data[name])
    except InvalidInput as e:
        raise fail(f"evidence record: {e.detail}") from e
    prefix = f"batches/{bid}/"
    files = {n: ctx.files.digests[n] for n in ctx.files.data if n.startswith(prefix) and n != name}
    first_list = set(chain[0].reduced[0]) if chain[0].reduced else set()
    covered = {n for n, digest in files.items() if digest in first_list}
    if not covered:
        raise fail("expected the first archive time-stamp to cover files of this batch, found none of their hashes")
    subject = next(iter(sorted(covered)))
    previous: tokens.TokenVerdict | None = None
    times: list[datetime] = []
    parts = []
    valid_now = False
    for i, stamp in enumerate(chain, 1):
        digest = ctx.files.digests[subject] if previous is None else ers.sha256(chain[i - 2].token)
        try:
            root = ers.root_of(stamp.reduced, digest)
        except InvalidInput as e:
            raise fail(f"archive time-stamp {i}: {e.detail}") from e
        verdict = _verify_stamp(ctx, stamp, root, i)
        gen = verdict.info.gen_time
        if previous is not None and previous.expires is not None and gen >= previous.expires:
            raise fail(f"archive time-stamp {i} ({iso_utc(gen)}) was made after the certificate of time-stamp "
                       f"{i - 1} expired ({iso_utc(previous.expires)}): the chain is broken")
        parts.append(f"{iso_utc(gen)} by '{verdict.info.signer_subject}'")
        previous, valid_now = verdict, verdict.valid_now
        times.append(gen)
    text = f"archive time-stamp{'s' if len(chain) > 1 else ''} (RFC 4998) of " + ", then ".join(parts)
    return covered, text, valid_now, times[0]  # ers.decode gives at least one archive time-stamp


def _verify_stamp(ctx: Ctx, stamp: ers.ArchiveStamp, root: bytes, i: int) -> tokens.TokenVerdict:
    extra = list(stamp.certificates) + all_chain_certs(ctx)
    try:
        verdict = tokens.verify_token(stamp.token, digest=root, roots=ctx.trust.tsa_roots, extra_certs=extra,
                                      at=ctx.trust.at)
    except tokens.UntrustedTokenRoot as e:
        ctx.rests_on.append(f"UNTRUSTED TSA root of an archive time-stamp: chain stops at '{e.stopped_at}'")
        raise
    except TokenError as e:
        raise fail(f"archive time-stamp {i}: the {e.code} check failed: {e.detail}") from e
    ctx.token_infos[stamp.token] = verdict.info  # the report lists it too: parsed once
    development = tokens.development_token_detail(verdict.info)
    if development is not None:
        ctx.rests_on.append(f"UNTRUSTED TSA: the development TSA (policy {tokens.DEV_TSA_POLICY})")
        raise UntrustedAnchor(f"archive time-stamp {i}: {development}")
    ctx.rests_on.append(f"TSA root '{verdict.root_subject}' (given by you)")
    _revocation(stamp, verdict, i)
    return verdict


def _revocation(stamp: ers.ArchiveStamp, verdict: tokens.TokenVerdict, i: int) -> None:
    """The OCSP responses an archive time-stamp carries, judged at its genTime (none carried: not judged)."""
    for cert, issuer in zip(verdict.chain, verdict.chain[1:], strict=False):
        for response in stamp.ocsp_responses:
            try:
                status = read_response(response, cert, issuer)
            except InvalidInput:
                continue  # a response about another certificate of the chain
            judgement = judge(status, verdict.info.gen_time)
            if not judgement.valid:
                raise fail(f"archive time-stamp {i}: TSA certificate revoked: {judgement.detail}")
