"""OCSP (RFC 6960) for TSA certificates: requests, and responses checked and read without network.

A time-stamp must stay verifiable after its TSA certificate expired or was revoked, so the revocation
status of the signer (and of each CA below the root) is fetched right after stamping and archived
with the token. A response counts only when it answers for exactly that certificate (CertID with the
issuer's name and key hashes and the serial), is ``successful``, and is signed by the issuer itself or
by a responder certificate the issuer issued for OCSP signing (id-kp-OCSPSigning, RFC 6960 §4.2.2.2).

Judging a token at its genTime (``judge``): a certificate revoked at or before genTime makes the token
worthless; one revoked later for key or CA compromise (or with no reason given) too, since whoever held
the key could write any genTime; any other later reason (superseded, cessation of operation, ...)
leaves earlier tokens valid, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from .certs import certificate_subject
from .errors import InvalidInput

# Reasons after which no signature by the key can be trusted, whatever time it names (RFC 5280 §5.3.1).
COMPROMISE_REASONS = frozenset({"unspecified", "key_compromise", "ca_compromise", "aa_compromise"})


@dataclass(frozen=True)
class OcspStatus:
    subject: str
    serial: int
    status: str  # 'good' | 'revoked' | 'unknown'
    produced_at: datetime
    this_update: datetime
    next_update: datetime | None
    revocation_time: datetime | None = None
    reason: str | None = None  # RFC 5280 CRLReason as cryptography names it, e.g. 'key_compromise'


@dataclass(frozen=True)
class Judgement:
    valid: bool
    detail: str


def ocsp_url(cert_der: bytes) -> str | None:
    """The certificate's OCSP responder (authorityInfoAccess), if it names one over HTTP."""
    cert = x509.load_der_x509_certificate(cert_der)
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for d in aia:
        if d.access_method == AuthorityInformationAccessOID.OCSP and isinstance(d.access_location,
                                                                                x509.UniformResourceIdentifier):
            url = d.access_location.value
            if url.startswith(("http://", "https://")):
                return url
    return None


def build_request(cert_der: bytes, issuer_der: bytes) -> bytes:
    """A DER OCSPRequest for one certificate. SHA-1 CertID: the hash every responder must support
    (RFC 5019 §2.1.1); it only names the certificate, the response's signature is what is trusted."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        x509.load_der_x509_certificate(cert_der), x509.load_der_x509_certificate(issuer_der), hashes.SHA1())
    return builder.build().public_bytes(Encoding.DER)


def read_response(response_der: bytes, cert_der: bytes, issuer_der: bytes) -> OcspStatus:
    """Check an OCSP response for ``cert`` (issued by ``issuer``) and return what it says.

    Raises InvalidInput naming what is wrong: not a response, not successful, about another
    certificate, or not signed by the issuer or its designated responder.
    """
    cert = x509.load_der_x509_certificate(cert_der)
    issuer = x509.load_der_x509_certificate(issuer_der)
    try:
        resp = ocsp.load_der_ocsp_response(response_der)
    except ValueError as e:
        raise InvalidInput(f"not an OCSP response: {e}") from e
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise InvalidInput(f"OCSP responder answered {resp.response_status.name.lower()}")
    single = next((s for s in resp.responses if s.serial_number == cert.serial_number
                   and _matches_issuer(s, issuer)), None)
    if single is None:
        raise InvalidInput(f"the OCSP response does not answer for serial {cert.serial_number:#x} of this issuer")
    _check_signature(resp, issuer)
    reason = single.revocation_reason.name if single.revocation_reason is not None else None
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED and reason is None:
        reason = "unspecified"
    return OcspStatus(
        subject=certificate_subject(cert_der), serial=cert.serial_number,
        status=single.certificate_status.name.lower(), produced_at=resp.produced_at_utc,
        this_update=single.this_update_utc, next_update=single.next_update_utc,
        revocation_time=single.revocation_time_utc, reason=reason,
    )


def judge(status: OcspStatus, gen_time: datetime) -> Judgement:
    """Whether a token with this ``gen_time`` stands, given its certificate's archived status."""
    if status.status == "unknown":
        return Judgement(False, f"{status.subject}: the OCSP responder does not know this certificate")
    if status.status == "good":
        return Judgement(True, f"{status.subject}: not revoked (OCSP, produced {status.produced_at.isoformat()})")
    assert status.revocation_time is not None
    when = f"revoked on {status.revocation_time.isoformat()} (reason: {status.reason})"
    if status.revocation_time <= gen_time:
        return Judgement(False, f"{status.subject}: {when}, at or before the time-stamp's genTime")
    if status.reason in COMPROMISE_REASONS:
        return Judgement(False, f"{status.subject}: {when}; a compromised key could have written any genTime")
    return Judgement(True, f"{status.subject}: {when}, after genTime and not for a compromise")


def _matches_issuer(single: ocsp.OCSPSingleResponse, issuer: x509.Certificate) -> bool:
    algorithm = single.hash_algorithm
    try:
        name_hash = hashes.Hash(algorithm)
    except UnsupportedAlgorithm:
        return False
    name_hash.update(issuer.subject.public_bytes())
    key_hash = hashes.Hash(algorithm)
    key_hash.update(_subject_public_key_bits(issuer))
    return single.issuer_name_hash == name_hash.finalize() and single.issuer_key_hash == key_hash.finalize()


def _subject_public_key_bits(cert: x509.Certificate) -> bytes:
    """The BIT STRING contents of subjectPublicKey (RFC 6960 §4.1.1 issuerKeyHash)."""
    spki = keys.PublicKeyInfo.load(cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    return bytes(spki["public_key"].contents[1:])  # drop the unused-bits byte


def _check_signature(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    signer = issuer if _is_responder(resp, issuer) else None
    if signer is None:
        for candidate in resp.certificates:
            if _is_responder(resp, candidate) and _issued_for_ocsp(candidate, issuer):
                signer = candidate
                break
    if signer is None:
        raise InvalidInput("the OCSP response is signed neither by the issuer nor by a responder it designated")
    _verify(signer, resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm)


def _is_responder(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if resp.responder_name is not None:
        return resp.responder_name == cert.subject
    digest = hashes.Hash(hashes.SHA1())
    digest.update(_subject_public_key_bits(cert))
    return resp.responder_key_hash == digest.finalize()


def _issued_for_ocsp(responder: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku or responder.issuer != issuer.subject:
        return False
    try:
        _verify(issuer, responder.signature, responder.tbs_certificate_bytes, responder.signature_hash_algorithm)
    except InvalidInput:
        return False
    return True


def _verify(signer: x509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None) -> None:
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise InvalidInput(f"unsupported OCSP signature key {type(key).__name__}")
    except InvalidSignature as e:
        raise InvalidInput("the OCSP response's signature does not verify") from e
