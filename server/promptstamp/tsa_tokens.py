"""Building RFC 3161 answers and a TSA's certificates: the built-in development TSA's token factory
(RFC 3161 §2.4.2, RFC 5816; RFC 5652 SignedData; ESS signingCertificateV2, RFC 5035), its root and
leaf certificates (timeStamping EKU, critical, RFC 3161 §2.3) and its key files. Split from
``devtsa``, which answers HTTP requests with what this module builds. No network.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ConfigError
from .tokens import DEV_TSA_POLICY

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
KeyType = Literal["ec", "rsa"]


class _TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 3161 §2.4.2; asn1crypto's own class makes the token mandatory, rejections carry none."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Rejection(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


# --- CMS signing (also used by the test-asset generator) ------------------------------------------


def signature_params(key: PrivateKey, *, pss: bool = False) -> tuple[str, algos.SignedDigestAlgorithm]:
    """(digest algorithm for messageDigest, CMS signatureAlgorithm) for a key."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "sha512", algos.SignedDigestAlgorithm({"algorithm": "ed25519"})  # RFC 8419 §3
    if isinstance(key, ec.EllipticCurvePrivateKey):
        md = "sha384" if key.curve.key_size >= 384 else "sha256"
        return md, algos.SignedDigestAlgorithm({"algorithm": f"{md}_ecdsa"})
    if pss:
        params = {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        }
        return "sha256", algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    return "sha256", algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})


def sign_bytes(key: PrivateKey, data: bytes, *, pss: bool = False) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()))
    if pss:
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def ess_signing_certificate_v2(cert_der: bytes) -> tsp.SigningCertificateV2:
    """ESSCertIDv2 naming one certificate by SHA-256 hash, issuer and serial (RFC 5035 §3)."""
    cert = asn1_x509.Certificate.load(cert_der)
    issuer = asn1_x509.GeneralName(name="directory_name", value=cert.issuer)
    return tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "cert_hash": hashlib.sha256(cert_der).digest(),
                    "issuer_serial": {"issuer": [issuer], "serial_number": cert.serial_number},
                }
            ]
        }
    )


@functools.lru_cache(maxsize=64)
def _static_attribute_ders(cert_der: bytes) -> tuple[bytes, bytes]:
    # Built once per certificate: asn1crypto re-encodes freshly built values on every dump (~7 ms).
    content_type = cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]})
    ess = cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess_signing_certificate_v2(cert_der)]})
    return content_type.dump(), ess.dump()


def signed_attributes(tst_info_der: bytes, md: str, ess_cert_der: bytes) -> list[cms.CMSAttribute]:
    """contentType, messageDigest and signingCertificateV2 naming ``ess_cert_der`` (RFC 3161 §2.4.1, RFC 5816)."""
    content_type, ess = _static_attribute_ders(ess_cert_der)
    return [
        cms.CMSAttribute.load(content_type),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.new(md, tst_info_der).digest()]}),
        cms.CMSAttribute.load(ess),
    ]


def signed_token(
    tst_info_der: bytes,
    key: PrivateKey,
    cert_der: bytes,
    embed: Sequence[bytes],
    *,
    pss: bool = False,
    attributes: Sequence[cms.CMSAttribute] | None = None,
) -> bytes:
    """TimeStampToken DER: a CMS SignedData (RFC 5652 §5) over ``tst_info_der`` signed by ``key``."""
    md, sig_alg = signature_params(key, pss=pss)
    attrs = cms.CMSAttributes(list(attributes or signed_attributes(tst_info_der, md, cert_der)))
    signature = sign_bytes(key, attrs.dump(), pss=pss)  # DER SET OF, sorted by asn1crypto (RFC 5652 §5.4)
    cert = asn1_x509.Certificate.load(cert_der)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": cert.issuer, "serial_number": cert.serial_number},
            ),
            "digest_algorithm": {"algorithm": md},
            "signed_attrs": attrs,
            "signature_algorithm": sig_alg,
            "signature": signature,
        }
    )
    signed_data = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": md}],
        "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_info_der)},
        "signer_infos": [signer_info],
    }
    if embed:
        signed_data["certificates"] = [asn1_x509.Certificate.load(d) for d in embed]
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)}).dump())


def granted_response(token_der: bytes) -> bytes:
    return bytes(
        _TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token_der)}).dump()
    )


def rejection_response(fail_info: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [text], "fail_info": {fail_info}})
    return bytes(_TimeStampResp({"status": status}).dump())


# --- keys and certificates ------------------------------------------------------------------------


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PromptStamp"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _cert_hash(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_root(
    key: PrivateKey, common_name: str, *, days: int = 20 * 365, not_before: datetime | None = None
) -> x509.Certificate:
    start = not_before or datetime.now(UTC) - timedelta(hours=1)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(_dev_policy(), critical=False)
        .sign(key, _cert_hash(key))
    )


def make_tsa_cert(
    key: PrivateKey,
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    common_name: str,
    *,
    days: int = 10 * 365,
    not_before: datetime | None = None,
    eku: Literal["critical", "noncritical", "none"] = "critical",
) -> x509.Certificate:
    """A TSA leaf: extendedKeyUsage timeStamping, critical as RFC 3161 §2.3 requires (others for tests)."""
    start = not_before or datetime.now(UTC) - timedelta(hours=1)
    end = min(start + timedelta(days=days), issuer.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .add_extension(_dev_policy(), critical=False)
    )
    if eku != "none":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=eku == "critical"
        )
    return builder.sign(issuer_key, _cert_hash(issuer_key))


def _dev_policy() -> x509.CertificatePolicies:
    """The dev TSA policy in its certificates too, so a verifier or key page can tell its root from a real one."""
    return x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(DEV_TSA_POLICY), None)])


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ConfigError(f"dev TSA key {path}: expected an EC, RSA or Ed25519 key, found {type(key).__name__}")
    return key
