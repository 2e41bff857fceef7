"""Regenerate the crafted RFC 3161 responses in this folder: one file per failure mode (see README.md).

    .venv/bin/python tests/assets/tokens/generate.py

Each response is made by the real dev TSA code (``promptstamp.devtsa``) with one thing wrong, then
written next to this script with the asset PKI's certificates. Keys are thrown away: nobody can issue
more tokens under this root. Tests read the root from ``root.pem``, never hard-code hashes, so
regenerating is safe.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from promptstamp import devtsa

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "real-tsa"
DATA = b"PromptStamp test asset\n"
DIGEST = hashlib.sha256(DATA).digest()
NONCE = 0x5EED5EED5EED5EED
GEN_TIME = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)


def request(*, digest: bytes = DIGEST, alg: str = "sha256", nonce: int = NONCE) -> tsp.TimeStampReq:
    imprint = {"hash_algorithm": {"algorithm": alg}, "hashed_message": digest}
    return tsp.TimeStampReq({"version": "v1", "message_imprint": imprint, "nonce": nonce, "cert_req": True})


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def with_signed_attrs(token: bytes, key: devtsa.PrivateKey, cert: bytes, attrs: list[cms.CMSAttribute]) -> bytes:
    """Re-sign ``token``'s TSTInfo with the given signed attributes (a valid signature over wrong content)."""
    sd = cms.ContentInfo.load(token)["content"]
    tst_der = bytes(sd["encap_content_info"]["content"])
    certs = [c.chosen.dump() for c in sd["certificates"]]
    return devtsa.signed_token(tst_der, key, cert, certs, attributes=attrs)


def main() -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = devtsa.make_root(root_key, "PromptStamp test-asset root", not_before=NOT_BEFORE)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = devtsa.make_tsa_cert(leaf_key, root, root_key, "PromptStamp test-asset TSA", not_before=NOT_BEFORE)
    (HERE / "root.pem").write_bytes(pem(root))
    (HERE / "tsa.pem").write_bytes(pem(leaf))

    def tsa(**kw: object) -> devtsa.DevTsa:
        return devtsa.DevTsa(leaf_key, leaf, root, clock=lambda: GEN_TIME, **kw)  # type: ignore[arg-type]

    good = tsa()
    out: dict[str, bytes] = {}
    out["good.tsr"] = good.respond(request().dump())
    out["granted-with-mods.tsr"] = devtsa._TimeStampResp(
        {"status": {"status": "granted_with_mods"}, "time_stamp_token": cms.ContentInfo.load(good.token_for(request()))}
    ).dump()
    out["rejection-bad-alg.tsr"] = good.respond(request(digest=hashlib.sha1(DATA).digest(), alg="sha1").dump())
    out["truncated.tsr"] = out["good.tsr"][:-40]
    out["not-der.tsr"] = b"<html><body>502 Bad Gateway</body></html>\n"
    out["granted-without-token.tsr"] = devtsa._TimeStampResp({"status": {"status": "granted"}}).dump()
    # A TSA that ignores our hash and uses SHA-1 anyway
    out["sha1-imprint.tsr"] = devtsa.granted_response(
        good.token_for(request(digest=hashlib.sha1(DATA).digest(), alg="sha1"))
    )
    out["wrong-imprint.tsr"] = good.respond(request(digest=hashlib.sha256(b"other data").digest()).dump())
    out["wrong-nonce.tsr"] = good.respond(request(nonce=0x1234).dump())
    out["other-policy.tsr"] = tsa(policy="1.3.6.1.4.1.99999.9.9").respond(request().dump())

    # The signer's certificate is not embedded (only the root is): found only if supplied by the caller
    token = good.token_for(request())
    tst_der = bytes(cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"])
    out["signer-not-embedded.tsr"] = devtsa.granted_response(
        devtsa.signed_token(tst_der, leaf_key, der(leaf), [der(root)])
    )

    # Signature bytes flipped
    ci = cms.ContentInfo.load(token)
    si = ci["content"]["signer_infos"][0]
    sig = bytearray(si["signature"].native)
    sig[-1] ^= 0x01
    si["signature"] = bytes(sig)
    out["bad-signature.tsr"] = devtsa.granted_response(ci.dump(force=True))

    # Validly signed attributes whose messageDigest is not the TSTInfo's
    attrs = devtsa.signed_attributes(b"another TSTInfo", "sha256", der(leaf))
    out["bad-message-digest.tsr"] = devtsa.granted_response(with_signed_attrs(token, leaf_key, der(leaf), attrs))

    # ESS signing-certificate-v2 names the root, not the signer (signature valid)
    attrs = devtsa.signed_attributes(tst_der, "sha256", der(root))
    out["ess-mismatch.tsr"] = devtsa.granted_response(with_signed_attrs(token, leaf_key, der(leaf), attrs))
    # No ESS attribute at all
    attrs = devtsa.signed_attributes(tst_der, "sha256", der(leaf))[:2]
    out["ess-missing.tsr"] = devtsa.granted_response(with_signed_attrs(token, leaf_key, der(leaf), attrs))

    # TSA certificates that RFC 3161 §2.3 forbids: EKU not critical, EKU absent
    for eku in ("noncritical", "none"):
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"PromptStamp test-asset TSA, EKU {eku}"
        cert = devtsa.make_tsa_cert(key, root, root_key, name, eku=eku, not_before=NOT_BEFORE)
        name = "eku-noncritical.tsr" if eku == "noncritical" else "eku-missing.tsr"
        out[name] = devtsa.DevTsa(key, cert, root, clock=lambda: GEN_TIME).respond(request().dump())

    # genTime before the TSA certificate's notBefore (back-dated): chain invalid at genTime
    out["gentime-before-cert.tsr"] = devtsa.DevTsa(
        leaf_key, leaf, root, clock=lambda: NOT_BEFORE - timedelta(days=30)
    ).respond(request().dump())

    forged(out)
    for name, body in out.items():
        (HERE / name).write_bytes(body)
    print(f"wrote {len(out)} responses to {HERE}")


def forged(out: dict[str, bytes]) -> None:
    """Look-alikes of the real DigiCert TSA, to be checked against the real DigiCert Trusted Root G4."""
    real = [x509.load_pem_x509_certificate(b) for b in _pem_blocks(REAL / "digicert-2025" / "embedded-certs.pem")]
    real_leaf = next(c for c in real if "Timestamp 2024" in c.subject.rfc4514_string())
    real_inter = next(c for c in real if c.subject == real_leaf.issuer)
    real_root = x509.load_pem_x509_certificate((REAL / "digicert-2025/root-DigiCert_Trusted_Root_G4.pem").read_bytes())
    when = datetime(2025, 3, 24, 11, 17, 47, tzinfo=UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # 1. self-signed, same subject as the real TSA certificate
    selfsigned = _lookalike(key, real_leaf.subject, real_leaf.subject, key, when)
    req = request(digest=hashlib.sha256(DATA).digest())
    tsa = devtsa.DevTsa(key, selfsigned, selfsigned, clock=lambda: when)
    token = tsa.token_for(req)
    tst_der = bytes(cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"])
    out["forged-digicert-selfsigned.tsr"] = devtsa.granted_response(
        devtsa.signed_token(tst_der, key, der(selfsigned), [der(selfsigned)])
    )
    # 2. claims the real DigiCert intermediate as issuer (but signed with the forger's key)
    claimed = _lookalike(key, real_leaf.subject, real_inter.subject, key, when)
    out["forged-digicert-issuer.tsr"] = devtsa.granted_response(
        devtsa.signed_token(tst_der, key, der(claimed), [der(claimed), der(real_inter), der(real_root)])
    )


def _lookalike(
    key: rsa.RSAPrivateKey, subject: x509.Name, issuer: x509.Name, signing_key: rsa.RSAPrivateKey, when: datetime
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(when - timedelta(days=30))
        .not_valid_after(when + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def _pem_blocks(path: Path) -> list[bytes]:
    text = path.read_bytes()
    end = b"-----END CERTIFICATE-----"
    return [block + end + b"\n" for block in text.split(end) if b"-----BEGIN CERTIFICATE-----" in block]


if __name__ == "__main__":
    main()
