"""Signing and checking report.pdf, the PDF exhibit (PAdES with pyHanko; the only PDF-signing module).

The exhibit is signed (PAdES B-T: a CMS signature with an RFC 3161 signature time-stamp) and then
carries an RFC 3161 document time-stamp (ETSI EN 319 142-1, PAdES document time-stamp), both from the
service's configured TSAs, so a court's PDF reader shows a valid signature and time-stamp.

Who signs: PDF readers check ECDSA and RSA signatures best, so each export makes a fresh P-256 key and
a certificate for it issued by the service's own Ed25519 key (the key that signs every receipt), under
a CA certificate of that key. Anyone can check the chain against the service key published at
/v1/keys; the verifier checks that the exhibit's certificate was issued by a service key of the bundle.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, keys, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import PromptStampError, TimestampError, UntrustedAnchor, VerificationError
from .signing import PublicKey, SigningKeyPair

Stamp = Callable[[bytes], Mapping[str, bytes]]


class _ServiceTsa(TimeStamper):
    """pyHanko's time-stamper over the service's TSA clients (which check every answer themselves)."""

    def __init__(self, stamp: Stamp) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyHanko's base is untyped
        self._stamp = stamp

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        if md_algorithm != "sha256" or len(message_digest) != 32:
            raise TimestampError(f"the exhibit's time-stamps are over SHA-256, asked for {md_algorithm}")
        # The TSA clients check each answer with pyHanko's validator, which runs its own event loop: off
        # this one, in a thread.
        for token in (await asyncio.to_thread(self._stamp, message_digest)).values():
            return cms.ContentInfo.load(token)
        raise TimestampError("no TSA answered for the PDF exhibit")


def _name(common_name: str) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "PromptStamp"),
                       cx509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def exhibit_certificates(service: SigningKeyPair, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes]:
    """A fresh P-256 key, its certificate issued by the service key, and the service key's CA certificate
    (both DER)."""
    ca_key = ed25519.Ed25519PrivateKey.from_private_bytes(service.seed)
    ca_name = _name(f"PromptStamp service key {service.id}")
    start, end = now - timedelta(minutes=5), now + timedelta(days=3650)
    ca = (cx509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(cx509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(cx509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, None))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (cx509.CertificateBuilder().subject_name(_name(f"PromptStamp evidence exhibit, service key {service.id}"))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(cx509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(cx509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING,
                                                   cx509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]),
                           critical=False)
            .sign(ca_key, None))
    return key, leaf.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER)


class PdfExhibitSigner:
    """What the bundle writer needs to add report.pdf: the service key it is signed under, and the signing."""

    def __init__(self, service: SigningKeyPair, stamp: Stamp) -> None:
        self._service = service
        self._stamp = stamp
        self.key_id = service.id
        self.public_pem = service.public.pem

    def sign(self, pdf: bytes) -> bytes:
        return sign_exhibit(pdf, self._service, self._stamp,
                            reason="PromptStamp evidence exhibit: the report of the signed, time-stamped records")


def sign_exhibit(pdf: bytes, service: SigningKeyPair, stamp: Stamp, *, reason: str) -> bytes:
    """``pdf`` signed (PAdES B-T) by a certificate of the service key, then given a document time-stamp."""
    key, leaf_der, ca_der = exhibit_certificates(service, datetime.now(UTC))
    key_info = keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    ca = x509.Certificate.load(ca_der)
    signer = signers.SimpleSigner(signing_cert=x509.Certificate.load(leaf_der), signing_key=key_info,
                                  cert_registry=SimpleCertificateStore.from_certs([ca]))  # type: ignore[no-untyped-call]
    tsa = _ServiceTsa(stamp)
    meta = signers.PdfSignatureMetadata(field_name="PromptStamp", md_algorithm="sha256", reason=reason,
                                        name="PromptStamp", subfilter=fields.SigSeedSubFilter.PADES)
    try:
        signed = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, timestamper=tsa)
        stamped = PdfTimeStamper(tsa).timestamp_pdf(IncrementalPdfFileWriter(signed), "sha256")
    except PromptStampError:
        raise
    except Exception as e:  # pyHanko's own errors have no common base worth naming here
        raise TimestampError(f"report.pdf could not be signed: {type(e).__name__}: {e}") from e
    return bytes(stamped.getvalue())


def check_exhibit(pdf: bytes, service_keys: Mapping[str, PublicKey], tsa_roots: Sequence[bytes]) -> str:
    """The exhibit's signature is intact, covers the document (only its document time-stamp follows),
    has a signature time-stamp, and its certificate was issued by one of ``service_keys``; both
    time-stamps chain to one of ``tsa_roots`` (DER), each judged at its own genTime. Raises
    VerificationError, or UntrustedAnchor when all holds but the time-stamps rest on a root not given;
    returns what held."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = reader.embedded_signatures
    except Exception as e:  # a malformed PDF: pyHanko raises its own parse errors
        raise VerificationError(f"report.pdf is not a readable PDF: {type(e).__name__}: {e}") from e
    regular = [s for s in sigs if s.sig_object_type == "/Sig"]
    stamps = [s for s in sigs if s.sig_object_type == "/DocTimeStamp"]
    if len(regular) != 1 or not stamps:
        raise VerificationError(f"report.pdf: expected one signature and a document time-stamp, found "
                                f"{len(regular)} signature(s) and {len(stamps)} document time-stamp(s)")
    sig = regular[0]
    last = stamps[-1]
    # Each time-stamp is judged at its own genTime, as the bundle's tokens are: a TSA certificate that
    # expired since says nothing against a time-stamp made while it was valid (pyHanko would judge now).
    sig_time = _gen_time(_signature_timestamp(sig))
    doc_time = _gen_time(last.signed_data)
    roots = [x509.Certificate.load(r) for r in tsa_roots]
    # The chain of the signer is checked below against the bundle's service keys (Ed25519); here its
    # own CA certificate only lets pyHanko build the path. TSA trust comes from the roots given.
    own = ValidationContext(trust_roots=list(sig.other_embedded_certs) or [sig.signer_cert], moment=sig_time)
    tsa = ValidationContext(trust_roots=roots, moment=sig_time)
    status = validate_pdf_signature(sig, signer_validation_context=own, ts_validation_context=tsa, skip_diff=False)
    if not (status.intact and status.valid):
        raise VerificationError("report.pdf: its signature does not verify (the document was altered)")
    if status.modification_level is None or status.modification_level.name not in ("NONE", "LTA_UPDATES"):
        raise VerificationError(f"report.pdf: changed after it was signed ({status.modification_level})")
    if status.timestamp_validity is None or not status.timestamp_validity.intact:
        raise VerificationError("report.pdf: expected a signature time-stamp that verifies, found none")
    issuer = _issuing_key(sig.signer_cert, service_keys)
    ts_status = validate_pdf_timestamp(last, validation_context=ValidationContext(trust_roots=roots, moment=doc_time))
    whole = ts_status.coverage is not None and ts_status.coverage.name == "ENTIRE_FILE"
    if not (ts_status.intact and whole):
        raise VerificationError("report.pdf: the document time-stamp does not cover the whole file")
    if not (status.timestamp_validity.trusted and ts_status.trusted):
        raise UntrustedAnchor(f"report.pdf is intact and signed under service key {issuer}, but its time-stamps "
                              "do not chain to a TSA root you gave")
    return (f"signed by a certificate of service key {issuer}, time-stamped "
            f"{status.timestamp_validity.timestamp.isoformat() if status.timestamp_validity else '?'}, "
            f"document time-stamp {ts_status.timestamp.isoformat()}")


def _signature_timestamp(sig: Any) -> cms.SignedData:
    """The RFC 3161 token in the signature's unsigned attributes (PAdES B-T)."""
    try:
        for attr in sig.signer_info["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                return attr["values"][0]["content"]
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise VerificationError(f"report.pdf: its signature's attributes are malformed: {e}") from e
    raise VerificationError("report.pdf: expected a signature time-stamp that verifies, found none")


def _gen_time(signed_data: cms.SignedData) -> datetime:
    try:
        gen_time = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise VerificationError(f"report.pdf: a time-stamp without a readable genTime: {e}") from e
    if not isinstance(gen_time, datetime):
        raise VerificationError("report.pdf: a time-stamp without a readable genTime")
    return gen_time


def _issuing_key(cert: x509.Certificate, service_keys: Mapping[str, PublicKey]) -> str:
    tbs = cert["tbs_certificate"].dump()
    signature = cert["signature_value"].native
    for kid, key in sorted(service_keys.items()):
        try:
            key.verify(tbs, signature)
        except PromptStampError:
            continue
        return kid
    raise VerificationError("report.pdf: its signing certificate was not issued by a service key of this bundle")
