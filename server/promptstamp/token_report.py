"""Verification of a bare RFC 3161 token or response (a ``.tst``/``.tsr`` someone hands over) over
the stamped data or its digest: one report row per check of ``tokens.verify_token``, in its order."""

from __future__ import annotations

from . import tokens
from .errors import InvalidInput, PromptStampError
from .verdict import Report, Run, Trust, iso_utc

_NOT_ASKED = {"nonce": "not compared (no request given)", "policy": "not compared (no policy required)"}

def check_token(token_der: bytes, trust: Trust, *, data: bytes | None = None, digest: bytes | None = None,
                extra_certs: tuple[bytes, ...] = ()) -> Report:
    """Verify a bare ``.tst`` or a ``.tsr`` over ``data`` or ``digest``: one check row per token check."""
    run = Run()
    if (data is None) == (digest is None):
        raise InvalidInput("give exactly one of the stamped data or its digest")
    rests: list[str] = []
    facts: dict[str, object] = {}
    try:
        info = tokens.token_info(token_der)
        facts = {"genTime": iso_utc(info.gen_time), "imprint": f"{info.imprint_algorithm}:{info.imprint.hex()}",
                 "policy": info.policy, "serial": info.serial, "tsa": info.tsa_name or "(not named)",
                 "signer": info.signer_subject or "(no signer certificate in the token)"}
    except PromptStampError:
        pass
    failed_at: str | None = None
    try:
        verdict = tokens.verify_token(token_der, data=data, digest=digest, roots=trust.tsa_roots,
                                      extra_certs=extra_certs, at=trust.at)
    except tokens.UntrustedTokenRoot as e:
        failed_at, outcome, detail = "chain", "untrusted", e.detail
        rests.append(f"UNTRUSTED TSA root: chain stops at '{e.stopped_at}'")
    except PromptStampError as e:
        failed_at, outcome, detail = (e.code if e.code in tokens.CHECKS else "structure"), "fail", e.detail
    else:
        development = tokens.development_token_detail(verdict.info)
        if development is not None:
            # Every check held, but the root is one anyone can make: the chain's row says so.
            failed_at, outcome, detail = "chain", "untrusted", development
            rests.append(f"UNTRUSTED TSA: the development TSA (policy {tokens.DEV_TSA_POLICY})")
        else:
            rests.append(f"TSA root '{verdict.root_subject}' (given by you)")
        facts["valid now"] = "yes" if verdict.valid_now else "no (validated at genTime)"
    for name in tokens.CHECKS:
        if name == failed_at:
            run.add("token", "token", name, outcome, detail)  # type: ignore[arg-type]
            break
        run.add("token", "token", name, "ok", _NOT_ASKED.get(name, "holds"))
    if failed_at is None:
        for note in verdict.notes:
            run.add("token", "token", "note", "note", note)
    return run.report("token", rests, facts)
