"""verify_token on crafted responses (one asset per failure mode) and on tokens from RSA, RSA-PSS, ECDSA
P-256/P-384 and Ed25519 TSAs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from promptstamp import devtsa, tokens
from promptstamp.errors import InvalidInput, TokenError, UntrustedAnchor

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tokens"
DATA = b"PromptStamp test asset\n"
NONCE = 0x5EED5EED5EED5EED


def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


ROOT = tokens.load_pem_certificates(asset("root.pem"))
LEAF = tokens.load_pem_certificates(asset("tsa.pem"))


def test_good_asset_verifies_with_every_optional_check() -> None:
    verdict = tokens.verify_token(asset("good.tsr"), data=DATA, roots=ROOT, nonce=NONCE, policy=devtsa.POLICY_OID)
    assert verdict.root_subject == "CN=PromptStamp test-asset root,O=PromptStamp"
    assert verdict.chain == (LEAF[0], ROOT[0])
    assert verdict.valid_now is True
    assert verdict.notes == ()
    assert verdict.info.imprint == hashlib.sha256(DATA).digest()


def test_digest_and_data_are_equivalent() -> None:
    by_data = tokens.verify_token(asset("good.tsr"), data=DATA, roots=ROOT)
    by_digest = tokens.verify_token(asset("good.tsr"), digest=hashlib.sha256(DATA).digest(), roots=ROOT)
    assert by_data == by_digest


def test_verify_needs_exactly_one_of_digest_or_data() -> None:
    with pytest.raises(ValueError):
        tokens.verify_token(asset("good.tsr"), roots=ROOT)
    with pytest.raises(ValueError):
        tokens.verify_token(asset("good.tsr"), data=DATA, digest=b"x" * 32, roots=ROOT)


def test_bare_token_and_response_give_the_same_verdict() -> None:
    bare = tokens.token_from_response(asset("good.tsr"))
    assert tokens.verify_token(bare, data=DATA, roots=ROOT) == tokens.verify_token(
        asset("good.tsr"), data=DATA, roots=ROOT
    )


def test_granted_with_mods_is_accepted_with_a_note() -> None:
    verdict = tokens.verify_token(asset("granted-with-mods.tsr"), data=DATA, roots=ROOT)
    assert verdict.notes == ("the TSA granted the request with modifications (PKIStatus grantedWithMods)",)


FAILURES = [
    ("truncated.tsr", "structure", "expected a DER TimeStampResp or TimeStampToken, found undecodable data"),
    ("not-der.tsr", "structure", "expected a DER TimeStampResp or TimeStampToken, found undecodable data"),
    ("granted-without-token.tsr", "structure", "response is PKIStatus 0 (granted) but carries no TimeStampToken"),
    (
        "rejection-bad-alg.tsr",
        "status",
        "expected PKIStatus granted (0) or grantedWithMods (1), found PKIStatus 2 (rejection); statusString "
        "'unsupported hash algorithm sha1; use sha256, sha384 or sha512'; failInfo bad_alg",
    ),
    (
        "sha1-imprint.tsr",
        "imprint_algorithm",
        "expected message imprint algorithm sha256, sha384 or sha512, found sha1",
    ),
    (
        "wrong-imprint.tsr",
        "imprint",
        f"expected imprint {hashlib.sha256(DATA).hexdigest()} (sha256 of the data), found",
    ),
    ("wrong-nonce.tsr", "nonce", "expected nonce 0x5eed5eed5eed5eed, found 0x1234"),
    ("other-policy.tsr", "policy", f"expected TSA policy {devtsa.POLICY_OID}, found 1.3.6.1.4.1.99999.9.9"),
    ("signer-not-embedded.tsr", "signer", "found none among 1 embedded and 0 supplied certificate(s)"),
    ("bad-signature.tsr", "signature", "expected a valid ecdsa/sha256 signature by 'CN=PromptStamp test-asset TSA"),
    ("bad-message-digest.tsr", "signature", "expected messageDigest sha256 "),
    (
        "ess-mismatch.tsr",
        "ess",
        "expected signing_certificate_v2 to identify the signer 'CN=PromptStamp test-asset TSA",
    ),
    ("ess-missing.tsr", "ess", "expected an ESS signingCertificate or signingCertificateV2 signed attribute"),
    (
        "eku-noncritical.tsr",
        "eku",
        "expected a critical timeStamping extendedKeyUsage (RFC 3161 §2.3), found it non-critical",
    ),
    ("eku-missing.tsr", "eku", "to carry a critical extendedKeyUsage timeStamping, found none"),
    ("gentime-before-cert.tsr", "chain", "expected a certificate path valid at genTime 2025-12-02T00:00:00Z, found"),
]


@pytest.mark.parametrize(("name", "check", "message"), FAILURES, ids=[f[0] for f in FAILURES])
def test_crafted_response_fails_at_its_check(name: str, check: str, message: str) -> None:
    with pytest.raises(TokenError) as e:
        tokens.verify_token(asset(name), data=DATA, roots=ROOT, nonce=NONCE, policy=devtsa.POLICY_OID)
    assert e.value.code == check
    assert message in e.value.detail


def test_checks_run_in_the_documented_order() -> None:
    # wrong-imprint also has the right nonce; asking for another nonce still reports the imprint first
    with pytest.raises(TokenError) as e:
        tokens.verify_token(asset("wrong-imprint.tsr"), data=DATA, roots=ROOT, nonce=1)
    assert e.value.code == "imprint"
    assert tokens.CHECKS.index("imprint") < tokens.CHECKS.index("nonce")


def test_signer_supplied_from_outside_is_found() -> None:
    verdict = tokens.verify_token(asset("signer-not-embedded.tsr"), data=DATA, roots=ROOT, extra_certs=LEAF)
    assert verdict.info.signer_subject is None  # not in the token itself
    assert verdict.chain[0] == LEAF[0]


def test_policy_is_only_checked_when_required() -> None:
    tokens.verify_token(asset("other-policy.tsr"), data=DATA, roots=ROOT)


def test_good_token_under_another_root_is_untrusted() -> None:
    other = devtsa.make_root(ec.generate_private_key(ec.SECP256R1()), "Some other root")
    other_der = devtsa._der(other)
    with pytest.raises(UntrustedAnchor) as e:
        tokens.verify_token(asset("good.tsr"), data=DATA, roots=[other_der])
    assert isinstance(e.value, tokens.UntrustedTokenRoot)
    assert e.value.stopped_at == "CN=PromptStamp test-asset root,O=PromptStamp"
    assert e.value.chain == (LEAF[0], ROOT[0])
    assert "one of the given roots ('CN=Some other root,O=PromptStamp')" in e.value.detail


def test_signer_given_as_trust_root_is_noted() -> None:
    # a caller may pin the TSA certificate itself (partial chain); the EKU check still ran
    verdict = tokens.verify_token(asset("good.tsr"), data=DATA, roots=LEAF)
    assert verdict.notes == ("the signer certificate is itself one of the given roots",)


def test_load_pem_certificates_rejects_junk() -> None:
    with pytest.raises(InvalidInput):
        tokens.load_pem_certificates(b"not pem")
    with pytest.raises(InvalidInput):
        tokens.load_pem_certificates(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert tokens.load_pem_certificates(tokens.certificates_pem(ROOT + LEAF)) == ROOT + LEAF


def _tsa_with(key: devtsa.PrivateKey, *, pss: bool = False) -> devtsa.DevTsa:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = devtsa.make_root(root_key, "Algorithm test root")
    return devtsa.DevTsa(key, devtsa.make_tsa_cert(key, root, root_key, "Algorithm test TSA"), root, pss=pss)


def _query(digest: bytes, *, alg: str = "sha256", cert_req: bool = True) -> bytes:
    imprint = {"hash_algorithm": {"algorithm": alg}, "hashed_message": digest}
    req = tsp.TimeStampReq({"version": "v1", "message_imprint": imprint, "nonce": 7, "cert_req": cert_req})
    return bytes(req.dump())


@pytest.mark.parametrize(
    ("label", "make_key", "pss", "mechanism"),
    [
        ("rsa", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), False, "sha256_rsa"),
        ("rsa-pss", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), True, "rsassa_pss"),
        ("p256", lambda: ec.generate_private_key(ec.SECP256R1()), False, "sha256_ecdsa"),
        ("p384", lambda: ec.generate_private_key(ec.SECP384R1()), False, "sha384_ecdsa"),
        ("ed25519", ed25519.Ed25519PrivateKey.generate, False, "ed25519"),
    ],
)
@pytest.mark.parametrize("alg", ["sha256", "sha384", "sha512"])
def test_every_tsa_key_type_verifies(label: str, make_key: object, pss: bool, mechanism: str, alg: str) -> None:
    tsa = _tsa_with(make_key(), pss=pss)  # type: ignore[operator]
    digest = hashlib.new(alg, DATA).digest()
    response = tsa.respond(_query(digest, alg=alg))
    verdict = tokens.verify_token(response, data=DATA, roots=[tsa.root_der], nonce=7)
    assert verdict.info.imprint_algorithm == alg
    signer_info = tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]["signer_infos"][0]
    assert signer_info["signature_algorithm"]["algorithm"].native == mechanism
    # a flipped signature byte is caught for every algorithm
    token = bytearray(tokens.token_from_response(response))
    signature = signer_info["signature"].native
    at = bytes(token).rindex(signature) + len(signature) // 2
    token[at] ^= 0x40
    with pytest.raises(TokenError) as e:
        tokens.verify_token(bytes(token), data=DATA, roots=[tsa.root_der])
    assert e.value.code == "signature"


def test_key_type_mismatch_is_a_signature_failure() -> None:
    tsa = _tsa_with(ec.generate_private_key(ec.SECP256R1()))
    response = tsa.respond(_query(hashlib.sha256(DATA).digest()))
    resp = tsp.TimeStampResp.load(response)
    signer_info = resp["time_stamp_token"]["content"]["signer_infos"][0]
    signer_info["signature_algorithm"] = {"algorithm": "sha256_rsa"}
    with pytest.raises(TokenError) as e:
        tokens.verify_token(resp.dump(force=True), data=DATA, roots=[tsa.root_der])
    assert (e.value.code, e.value.detail) == (
        "signature",
        "expected a key for rsassa_pkcs1v15, found a ec key in the signer's certificate",
    )
