"""The ESS signing-certificate check's fast yes (``tokens._ess_matches``) decides exactly as pyHanko's
``check_ess_certid`` on every real token, and carries the tokens our TSAs make without pyHanko's slow
name comparison."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from asn1crypto import tsp, x509
from pyhanko.sign.general import check_ess_certid

from promptstamp import tokens
from promptstamp.devtsa import DevTsa
from promptstamp.errors import TokenError
from promptstamp.token_parse import find_signer, parse_token

REAL = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"
ESS_ATTRS = ("signing_certificate_v2", "signing_certificate")


def ess_ids(token_der: bytes) -> list[tuple[str, x509.Certificate, list[x509.Certificate], tsp.ESSCertIDv2]]:
    """Each ESS certificate id in a granted token, with the token's signer and every other certificate at hand;
    none where the signer's certificate is neither embedded nor among the assets."""
    try:
        tok = parse_token(token_der)
    except TokenError:  # a rejection
        return []
    extra = [x509.Certificate.load(c) for p in REAL.glob("*/embedded-certs.pem")
             for c in tokens.load_pem_certificates(p.read_bytes())]
    signer = find_signer(tok.signer_info, tok.certs + tuple(extra))
    if signer is None:
        return []
    return [(attr, signer, [*tok.certs, *extra], value["certs"][0])
            for attr in ESS_ATTRS for value in tokens._signed_attr(tok.signer_info, attr)]


CASES = {f"{p.parent.name}/{p.name}": found for p in sorted(REAL.glob("*/*.ts[tr]"))
         if (found := ess_ids(p.read_bytes()))}


def test_the_cases_cover_the_real_tokens() -> None:
    assert len(CASES) >= 15
    assert "globalsign-g4-2021/token-mismatch-esscertid.tst" in CASES  # one whose ESS id names another certificate


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fast_check_agrees_with_pyhanko_for_the_signer_and_every_other_certificate(name: str) -> None:
    for attr, signer, others, cert_id in CASES[name]:
        for cert in [signer, *others]:
            assert tokens._ess_matches(cert, cert_id, attr) == bool(check_ess_certid(cert, cert_id))


def test_a_dev_tsa_token_is_checked_without_pyhankos_name_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    tsa = DevTsa.load_or_create(Path(tempfile.mkdtemp()))
    digest = hashlib.sha256(b"step").digest()
    request = tsp.TimeStampReq({"version": 1, "cert_req": True, "nonce": 7, "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest}})
    token = tsa.token_for(request)

    def slow(*args: object) -> bool:
        raise AssertionError("the fast check should have decided")

    monkeypatch.setattr(tokens, "check_ess_certid", slow)
    assert tokens.verify_token(token, digest=digest, roots=[tsa.root_der]).root_subject
