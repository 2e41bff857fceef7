"""Every real token in assets/real-tsa gets exactly the verdict its README gives (known-answer tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import pytest
from asn1crypto import tsp
from cryptography import x509 as cx509

from promptstamp import tokens
from promptstamp.errors import TokenError, UntrustedAnchor

REAL = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"
CRAFTED = Path(__file__).resolve().parents[1] / "assets" / "tokens"
NOW = datetime.now(UTC)


def read(name: str) -> bytes:
    return (REAL / name).read_bytes()


def pem_certs(*names: str) -> list[bytes]:
    return [c for n in names for c in tokens.load_pem_certificates(read(n))]


def self_issued(*names: str) -> list[bytes]:
    return [c for c in pem_certs(*names) if tokens.is_self_issued(c)]


class Stamped(TypedDict, total=False):
    data: bytes
    digest: bytes


def data_of(source: str) -> Stamped:
    """``data=`` the stamped bytes, or ``digest=`` where only the digest is published (a .hex file)."""
    if source.endswith(".hex"):
        return {"digest": bytes.fromhex(read(source).decode().strip())}
    return {"data": read(source)}


@dataclass(frozen=True)
class Valid:
    token: str
    source: str  # the stamped data, or a .hex digest
    roots: tuple[str, ...]
    root_subject: str
    expires: str  # first expiry among the signer and intermediates (YYYY-MM-DD): valid_now flips then
    extra: tuple[str, ...] = ()


DIGICERT_G4 = "CN=DigiCert Trusted Root G4,OU=www.digicert.com,O=DigiCert Inc,C=US"
IDENTRUST = "CN=IdenTrust Commercial Root CA 1,O=IdenTrust,C=US"
GS_R3 = "CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3"
FREETSA = "C=DE,ST=Bayern,L=Wuerzburg,1.2.840.113549.1.9.1=busilezas@gmail.com,CN=www.freetsa.org,OU=Root CA,O=Free TSA"
SIGSTAGE = "CN=sigstore-tsa-selfsigned,O=sigstore.dev"

VALID = [
    Valid(
        "digicert-2025/response.tsr",
        "digicert-2025/data.txt",
        ("digicert-2025/root-DigiCert_Trusted_Root_G4.pem",),
        DIGICERT_G4,
        "2035-11-25",
    ),
    # the embedded cross-certificate also leads to the older Assured ID root
    Valid(
        "digicert-2025/response.tsr",
        "digicert-2025/data.txt",
        ("digicert-2025/root-DigiCert_Assured_ID_Root_CA.pem",),
        "CN=DigiCert Assured ID Root CA,OU=www.digicert.com,O=DigiCert Inc,C=US",
        "2031-11-09",
    ),
    Valid(
        "identrust-2025/response.tsr",
        "identrust-2025/data.txt",
        ("identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem",),
        IDENTRUST,
        "2026-01-17",
    ),
    Valid(
        "identrust-2025/token.tst",
        "identrust-2025/data.txt",
        ("identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem",),
        IDENTRUST,
        "2026-01-17",
    ),
    Valid(
        "identrust-2025/hello-response.tsr",
        "identrust-2025/hello.txt",
        ("identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem",),
        IDENTRUST,
        "2026-01-17",
    ),
    Valid(
        "globalsign-aatl-2017/token.tst",
        "globalsign-aatl-2017/digest-sha256.hex",
        ("globalsign-aatl-2017/root-GlobalSign_Root_CA_-_R3.pem",),
        GS_R3,
        "2027-06-24",
    ),
    Valid(
        "globalsign-g4-2021/token.tst",
        "globalsign-g4-2021/data.txt",
        ("globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",),
        GS_R3,
        "2029-03-18",
    ),
    Valid(
        "globalsign-g4-2021/response.tsr",
        "globalsign-g4-2021/data.txt",
        ("globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",),
        GS_R3,
        "2029-03-18",
    ),
    Valid(
        "globalsign-g4-2021/token-no-certs.tst",
        "globalsign-g4-2021/data.txt",
        ("globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",),
        GS_R3,
        "2029-03-18",
        extra=("globalsign-g4-2021/embedded-certs.pem",),
    ),
    Valid(
        "freetsa-2024/response.tsr",
        "freetsa-2024/data.txt",
        ("freetsa-2024/root-freetsa_cacert.pem",),
        FREETSA,
        "2026-03-11",
    ),
    Valid(
        "freetsa-2024/token.tst",
        "freetsa-2024/data.txt",
        ("freetsa-2024/root-freetsa_cacert.pem",),
        FREETSA,
        "2026-03-11",
    ),
    *(
        Valid(
            f"sigstage-2025/response-{alg}.tsr",
            "sigstage-2025/hello.txt",
            ("sigstage-2025/ts_chain.pem",),
            SIGSTAGE,
            "2035-03-26",
        )
        for alg in ("sha256", "sha384", "sha512")
    ),
    Valid(
        "sigstage-2025/response-no-embedded-cert.tsr",
        "sigstage-2025/hello.txt",
        ("sigstage-2025/ts_chain.pem",),
        SIGSTAGE,
        "2035-03-26",
        extra=("sigstage-2025/ts_chain.pem",),
    ),
    Valid(
        "sigstage-2025/issue1482-response-no-certs.tsr",
        "sigstage-2025/issue1482-message.bin",
        ("sigstage-2025/ts_chain.pem",),
        SIGSTAGE,
        "2035-03-26",
        extra=("sigstage-2025/ts_chain.pem",),
    ),
]


@pytest.mark.parametrize("case", VALID, ids=lambda c: f"{c.token}<-{c.roots[0].split('/')[-1]}")
def test_real_token_verifies_at_gentime(case: Valid) -> None:
    verdict = tokens.verify_token(
        read(case.token), roots=self_issued(*case.roots), extra_certs=pem_certs(*case.extra), **data_of(case.source)
    )
    assert verdict.root_subject == case.root_subject
    assert verdict.chain[-1] in self_issued(*case.roots)
    assert tokens.certificate_subject(verdict.chain[0]) == verdict.info.signer_subject or case.extra
    expired = NOW.date().isoformat() >= case.expires
    assert verdict.valid_now is not expired
    if expired:
        assert any(n.startswith("validated at genTime only;") and "expired" in n for n in verdict.notes)


def test_identrust_is_valid_at_gentime_but_not_now() -> None:
    verdict = tokens.verify_token(
        read("identrust-2025/token.tst"),
        data=read("identrust-2025/data.txt"),
        roots=self_issued("identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem"),
    )
    assert verdict.valid_now is False
    assert verdict.notes == (
        "validated at genTime only; leaf 'CN=TrustID Timestamp Authority,O=IdenTrust,C=US' expired 2026-01-17",
    )
    assert verdict.info.gen_time == datetime(2025, 3, 11, 10, 43, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("token", "source", "stopped_at", "extra"),
    [
        (
            "sinpe-costa-rica-2025/response.tsr",
            "sinpe-costa-rica-2025/data.txt",
            "CN=CA POLITICA SELLADO DE TIEMPO - COSTA RICA v2,OU=DCFD,O=MICITT,C=CR,2.5.4.5=CPJ-2-100-098311",
            (),
        ),
        (
            "globalsign-adobe-cds-2017/response-nonce.tsr",
            "globalsign-adobe-cds-2017/data.txt",
            "CN=Adobe Root CA,OU=Adobe Trust Services,O=Adobe Systems Incorporated,C=US",
            (),
        ),
        (
            "globalsign-adobe-cds-2017/response-no-nonce.tsr",
            "globalsign-adobe-cds-2017/data.txt",
            "CN=Adobe Root CA,OU=Adobe Trust Services,O=Adobe Systems Incorporated,C=US",
            (),
        ),
        (
            "globalsign-adobe-cds-2017/response-no-certs.tsr",
            "globalsign-adobe-cds-2017/data.txt",
            "CN=Adobe Root CA,OU=Adobe Trust Services,O=Adobe Systems Incorporated,C=US",
            ("globalsign-adobe-cds-2017/embedded-certs.pem",),
        ),
        (
            "microsoft-2024/token.tst",
            "microsoft-2024/digest-sha256.hex",
            "CN=Microsoft Identity Verification Root Certificate Authority 2020,O=Microsoft Corporation,C=US",
            (),
        ),
    ],
)
def test_real_token_without_its_root_is_intact_but_untrusted(
    token: str, source: str, stopped_at: str, extra: tuple[str, ...]
) -> None:
    with pytest.raises(UntrustedAnchor) as e:
        tokens.verify_token(read(token), roots=(), extra_certs=pem_certs(*extra), **data_of(source))
    assert isinstance(e.value, tokens.UntrustedTokenRoot)
    assert e.value.stopped_at == stopped_at
    assert f"stops at '{stopped_at}', an issuer whose certificate was not supplied" in e.value.detail
    assert "none was given" in e.value.detail
    assert e.value.info.signer_subject is not None or extra


def test_untrusted_names_the_roots_that_were_given() -> None:
    with pytest.raises(UntrustedAnchor) as e:
        tokens.verify_token(
            read("microsoft-2024/token.tst"),
            **data_of("microsoft-2024/digest-sha256.hex"),
            roots=self_issued("digicert-2025/root-DigiCert_Trusted_Root_G4.pem"),
        )
    assert f"one of the given roots ('{DIGICERT_G4}')" in e.value.detail


@pytest.mark.parametrize(
    ("token", "source", "roots", "check", "message"),
    [
        (
            "globalsign-g4-2021/token-invalid-signature.tst",
            "globalsign-g4-2021/data.txt",
            "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",
            "signature",
            "signature does not verify",
        ),
        # the upstream edit of the ESSCertIDv2 hash sits inside the signed attributes: the signature,
        # checked before ESS, fails first (assets/tokens/ess-mismatch.tsr has a validly signed mismatch)
        (
            "globalsign-g4-2021/token-mismatch-esscertid.tst",
            "globalsign-g4-2021/data.txt",
            "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",
            "signature",
            "signature does not verify",
        ),
        (
            "globalsign-g4-2021/token-bad-imprint-alg.tst",
            "globalsign-g4-2021/data.txt",
            "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",
            "imprint_algorithm",
            "expected message imprint algorithm sha256, sha384 or sha512, found sha1_rsa (1.2.840.113549.1.1.5)",
        ),
        (
            "sigstage-2025/response-invalid-signature.tsr",
            "sigstage-2025/hello.txt",
            "sigstage-2025/ts_chain.pem",
            "signature",
            "expected a valid ecdsa/sha256 signature by 'CN=sigstore-tsa,O=sigstore.dev'",
        ),
        (
            "globalsign-adobe-cds-2017/response-rejection.tsr",
            "globalsign-adobe-cds-2017/data.txt",
            "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",
            "status",
            "found PKIStatus 2 (rejection); statusString 'Error during serial number generation.'; "
            "failInfo add_info_not_available",
        ),
    ],
)
def test_tampered_or_rejected_real_token_fails_at_the_named_check(
    token: str, source: str, roots: str, check: str, message: str
) -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(read(token), roots=self_issued(roots), **data_of(source))
    assert e.value.code == check
    assert message in e.value.detail


def test_token_no_certs_needs_the_signer_from_outside() -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            read("globalsign-g4-2021/token-no-certs.tst"),
            data=read("globalsign-g4-2021/data.txt"),
            roots=self_issued("globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"),
        )
    assert e.value.code == "signer"
    assert "found none among 0 embedded and 0 supplied certificate(s)" in e.value.detail


def _request_nonce(name: str) -> int:
    nonce = tsp.TimeStampReq.load(read(name))["nonce"].native
    assert isinstance(nonce, int)
    return nonce


def test_response_matches_its_own_request_nonce_and_not_another() -> None:
    response = read("globalsign-adobe-cds-2017/response-nonce.tsr")
    data = read("globalsign-adobe-cds-2017/data.txt")
    # the right nonce passes the nonce check and stops at the missing Adobe root
    with pytest.raises(UntrustedAnchor):
        tokens.verify_token(
            response, data=data, roots=(), nonce=_request_nonce("globalsign-adobe-cds-2017/request-nonce.tsq")
        )
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            response, data=data, roots=(), nonce=_request_nonce("globalsign-adobe-cds-2017/request-no-certs.tsq")
        )
    assert e.value.code == "nonce"
    assert e.value.detail == "expected nonce 0xb1fc81dec95749d9, found 0x92ef19ffb5d2ae8"


def test_sigstage_request_matches_no_response() -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            read("sigstage-2025/response-sha512.tsr"),
            data=read("sigstage-2025/hello.txt"),
            roots=self_issued("sigstage-2025/ts_chain.pem"),
            nonce=_request_nonce("sigstage-2025/request.der"),
        )
    assert e.value.code == "nonce"


def test_a_response_without_a_nonce_fails_when_one_was_requested() -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            read("globalsign-adobe-cds-2017/response-no-nonce.tsr"),
            data=read("globalsign-adobe-cds-2017/data.txt"),
            roots=(),
            nonce=_request_nonce("globalsign-adobe-cds-2017/request-nonce.tsq"),
        )
    assert e.value.detail == "expected nonce 0x92ef19ffb5d2ae8, found no nonce"


def test_required_policy_is_checked() -> None:
    kwargs = {
        "data": read("digicert-2025/data.txt"),
        "roots": self_issued("digicert-2025/root-DigiCert_Trusted_Root_G4.pem"),
    }
    tokens.verify_token(read("digicert-2025/response.tsr"), policy="2.16.840.1.114412.7.1", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TokenError) as e:
        tokens.verify_token(read("digicert-2025/response.tsr"), policy="1.2.3.4", **kwargs)  # type: ignore[arg-type]
    assert (e.value.code, e.value.detail) == ("policy", "expected TSA policy 1.2.3.4, found 2.16.840.1.114412.7.1")


def test_wrong_data_fails_the_imprint_check() -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            read("digicert-2025/response.tsr"),
            data=b"not the data",
            roots=self_issued("digicert-2025/root-DigiCert_Trusted_Root_G4.pem"),
        )
    assert e.value.code == "imprint"
    assert "(sha512 of the data), found sha512 " in e.value.detail


@pytest.mark.parametrize(
    ("name", "gen_time", "policy", "alg", "nonce", "accuracy"),
    [
        (
            "digicert-2025/response.tsr",
            "2025-03-24T11:17:47+00:00",
            "2.16.840.1.114412.7.1",
            "sha512",
            0x201D06BC8ADB3F1C,
            None,
        ),
        (
            "identrust-2025/response.tsr",
            "2025-03-11T10:43:58+00:00",
            "2.16.840.1.113839.0.6.13.3",
            "sha512",
            0xF370A130ED46E488,
            None,
        ),
        (
            "microsoft-2024/token.tst",
            "2024-06-21T07:12:05.884000+00:00",
            "1.3.6.1.4.1.601.10.3.1",
            "sha256",
            0x15AAAB578C28473B48F1B38279021D750060F432,
            "0.5s",
        ),
        (
            "sigstage-2025/response-sha384.tsr",
            "2025-05-09T11:58:55+00:00",
            "1.3.6.1.4.1.57264.2",
            "sha384",
            0x3EC6F8C72259C6B29991B6F0621402BAF94A2518,
            "1s",
        ),
        ("freetsa-2024/token.tst", "2024-04-09T05:29:39+00:00", "1.2.3.4.1", "sha512", None, None),
    ],
)
def test_token_info_reads_tstinfo(
    name: str, gen_time: str, policy: str, alg: str, nonce: int | None, accuracy: str | None
) -> None:
    info = tokens.token_info(read(name))
    assert info.gen_time == datetime.fromisoformat(gen_time)
    assert info.gen_time.tzinfo is not None
    assert (info.policy, info.imprint_algorithm, info.nonce, info.accuracy) == (policy, alg, nonce, accuracy)
    assert len(info.imprint) == {"sha256": 32, "sha384": 48, "sha512": 64}[alg]


def test_token_info_names_tsa_and_signer() -> None:
    info = tokens.token_info(read("globalsign-g4-2021/token.tst"))
    assert info.tsa_name == "CN=Globalsign TSA for Advanced - G4,O=GlobalSign nv-sa,C=BE"
    assert info.signer_subject == "CN=Globalsign TSA for Advanced - G4,O=GlobalSign nv-sa,C=BE"
    assert info.certificates == tuple(pem_certs("globalsign-g4-2021/embedded-certs.pem"))
    # certificates embedded CA-first: the signer is found by its SignerIdentifier, not by position
    ms = tokens.token_info(read("microsoft-2024/token.tst"))
    assert ms.signer_subject is not None and ms.signer_subject.startswith(
        "CN=Microsoft Public RSA Time Stamping Authority"
    )
    assert tokens.certificate_subject(ms.certificates[0]).startswith("CN=Microsoft Public RSA Timestamping CA 2020")


@pytest.mark.parametrize(
    ("response", "token"),
    [
        ("identrust-2025/response.tsr", "identrust-2025/token.tst"),
        ("freetsa-2024/response.tsr", "freetsa-2024/token.tst"),
    ],
)
def test_token_from_response_keeps_the_bytes(response: str, token: str) -> None:
    assert tokens.token_from_response(read(response)) == read(token)


def test_token_from_response_rejects_a_rejection_and_a_bare_token() -> None:
    with pytest.raises(TokenError) as e:
        tokens.token_from_response(read("globalsign-adobe-cds-2017/response-rejection.tsr"))
    assert e.value.code == "status"
    with pytest.raises(TokenError) as e:
        tokens.token_from_response(read("identrust-2025/token.tst"))
    assert e.value.code == "structure"


def test_forged_selfsigned_lookalike_does_not_verify_against_the_real_digicert_root() -> None:
    with pytest.raises(UntrustedAnchor) as e:
        tokens.verify_token(
            (CRAFTED / "forged-digicert-selfsigned.tsr").read_bytes(),
            data=b"PromptStamp test asset\n",
            roots=self_issued("digicert-2025/root-DigiCert_Trusted_Root_G4.pem"),
        )
    assert isinstance(e.value, tokens.UntrustedTokenRoot)
    assert e.value.stopped_at == "CN=DigiCert Timestamp 2024,O=DigiCert,C=US"
    assert "a self-signed certificate" in e.value.detail


def test_forged_lookalike_claiming_the_real_issuer_fails_the_chain() -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(
            (CRAFTED / "forged-digicert-issuer.tsr").read_bytes(),
            data=b"PromptStamp test asset\n",
            roots=self_issued("digicert-2025/root-DigiCert_Trusted_Root_G4.pem"),
        )
    assert e.value.code == "chain"
    assert "signature of the end-entity certificate could not be verified" in e.value.detail


def test_rfc4514_subjects_match_cryptography() -> None:
    for pem in sorted(REAL.glob("*/*.pem")):
        for der in tokens.load_pem_certificates(pem.read_bytes()):
            expected = cx509.load_der_x509_certificate(der).subject.rfc4514_string()
            assert tokens.certificate_subject(der) == expected, pem.name
