"""Parsing RFC 3161 time-stamp responses and tokens into what they say (``TokenInfo``), checking nothing
beyond structure and a response's status. ``tokens.verify_token`` runs the checks on what this returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, parser, tsp, x509

from .certs import ASN1_ERRORS as _ASN1_ERRORS
from .certs import name_rfc4514
from .errors import TokenError

# RFC 3161 §2.4.1 leaves the hash open; we accept the SHA-2 family only (no SHA-1, no signature OIDs).
IMPRINT_ALGORITHMS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
DIGEST_SIZE = {"sha256": 32, "sha384": 48, "sha512": 64}
GRANTED = ("granted", "granted_with_mods")


@dataclass(frozen=True)
class TokenInfo:
    """What a token says (TSTInfo and the embedded certificates), before any check."""

    gen_time: datetime  # aware UTC
    serial: int
    policy: str  # dotted OID
    imprint_algorithm: str  # 'sha256' | 'sha384' | 'sha512' for tokens that verify; otherwise a name or dotted OID
    imprint: bytes
    nonce: int | None
    tsa_name: str | None  # TSTInfo.tsa as text, if present
    accuracy: str | None  # e.g. "1s", "0.5s", "1.000001s"
    signer_subject: str | None  # RFC 4514 subject of the signer certificate, if embedded
    certificates: tuple[bytes, ...]  # embedded certificates, DER, in token order


@dataclass(frozen=True)
class ParsedToken:
    """A token's parts as the checks need them."""

    info: TokenInfo
    signed_data: cms.SignedData
    tst_info: tsp.TSTInfo
    signer_info: cms.SignerInfo
    certs: tuple[x509.Certificate, ...]
    status: str  # 'granted' | 'granted_with_mods' ('granted' for a bare token)
    signed_attrs_der: bytes  # the signed attributes as received, re-tagged SET OF: what the signature covers
    content: bytes  # the encapsulated TSTInfo octets: what messageDigest covers


def fail(check: str, detail: str) -> TokenError:
    """The error of a failed check; its ``code`` is the check's name (``tokens.CHECKS``)."""
    return TokenError(detail, code=check)


def _outer_kind(der: bytes) -> str:
    """'response' or 'token', from the first element inside the outer SEQUENCE."""
    try:
        cls, method, tag, _h, contents, _t = parser.parse(der, strict=True)
        if (cls, method, tag) != (0, 1, 16) or not contents:
            raise ValueError("outer element is not a SEQUENCE")
        cls, _m, tag, _h, _c, _t = parser.parse(contents)
    except _ASN1_ERRORS as e:
        raise fail("structure", f"expected a DER TimeStampResp or TimeStampToken, found undecodable data: {e}") from e
    if (cls, tag) == (0, 6):
        return "token"  # ContentInfo starts with its contentType OID
    if (cls, tag) == (0, 16):
        return "response"  # TimeStampResp starts with PKIStatusInfo
    raise fail("structure", f"expected a TimeStampResp or ContentInfo, found a SEQUENCE starting with tag {tag}")


def _status_text(status_info: tsp.PKIStatusInfo) -> str:
    status = status_info["status"]
    text = f"PKIStatus {int(status)} ({status.native})"
    strings = status_info["status_string"]
    if strings.native:
        text += "; statusString " + "; ".join(repr(s) for s in strings.native)
    fail_info = status_info["fail_info"]
    if fail_info.native:
        text += "; failInfo " + ", ".join(sorted(str(b) for b in fail_info.native))
    return text


class _TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 3161 §2.4.2 TimeStampResp; asn1crypto's own marks the token mandatory, but rejections carry none."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _split_response(der: bytes) -> tuple[bytes, str]:
    """TimeStampResp -> (token DER exactly as received, status name); bare tokens pass through."""
    if _outer_kind(der) == "token":
        return der, "granted"
    try:
        resp = _TimeStampResp.load(der, strict=True)
        status_info = resp["status"]
        status = status_info["status"].native
        text = _status_text(status_info)
    except _ASN1_ERRORS as e:
        raise fail("structure", f"malformed TimeStampResp: {e}") from e
    if status not in GRANTED:
        raise fail("status", f"expected PKIStatus granted (0) or grantedWithMods (1), found {text}")
    token = resp["time_stamp_token"]
    if not token.contents:
        raise fail("structure", f"response is {text} but carries no TimeStampToken")
    return token.dump(), str(status)


def token_from_response(der: bytes) -> bytes:
    """TimeStampResp DER -> its TimeStampToken (ContentInfo) DER, byte for byte as the TSA sent it.

    Raises TokenError code 'status' for a rejection (with PKIStatus, statusString and failInfo) and
    code 'structure' for anything that is not a TimeStampResp.
    """
    if _outer_kind(der) != "response":
        raise fail("structure", "expected a TimeStampResp, found a bare TimeStampToken (ContentInfo)")
    return _split_response(der)[0]


def token_info(token_der: bytes) -> TokenInfo:
    """Parse a bare token or a TimeStampResp; checks nothing beyond structure (and a response's status)."""
    return parse_token(token_der).info


def parse_token(der: bytes) -> ParsedToken:
    token_der, status = _split_response(der)
    try:
        ci = cms.ContentInfo.load(token_der, strict=True)
        if ci["content_type"].native != "signed_data":
            raise fail("structure", f"expected ContentInfo of signedData, found {ci['content_type'].dotted}")
        sd = ci["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].native != "tst_info":
            raise fail("structure", f"expected eContentType id-ct-TSTInfo, found {eci['content_type'].dotted}")
        if not isinstance(eci["content"], core.ParsableOctetString):
            raise fail("structure", "SignedData carries no encapsulated TSTInfo")
        tst = eci["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            raise fail("structure", "encapsulated content is not a TSTInfo")
        signer_infos = sd["signer_infos"]
        if len(signer_infos) != 1:
            # RFC 3161 §2.4.2: the token carries the TSA's signature and no other
            raise fail("structure", f"expected exactly 1 SignerInfo, found {len(signer_infos)}")
        signer_info = signer_infos[0]
        # Take the signed bytes before anything else touches the object: asn1crypto re-encodes values it
        # considers modified, and re-sorting a TSA's non-DER SET would break a good signature.
        signed_attrs = signer_info["signed_attrs"]
        signed_attrs_der = b"\x31" + signed_attrs.dump()[1:] if signed_attrs.contents else b""
        content = bytes(eci["content"])
        certs = tuple(c.chosen for c in (sd["certificates"] or []) if c.name == "certificate")
        info = _info(tst, signer_info, certs)
    except _ASN1_ERRORS as e:
        raise fail("structure", f"malformed TimeStampToken: {e}") from e
    return ParsedToken(info, sd, tst, signer_info, certs, status, signed_attrs_der, content)


def _info(tst: tsp.TSTInfo, signer_info: cms.SignerInfo, certs: tuple[x509.Certificate, ...]) -> TokenInfo:
    imprint = tst["message_imprint"]
    oid = imprint["hash_algorithm"]["algorithm"].dotted
    nonce = tst["nonce"].native
    tsa = tst["tsa"]
    signer = find_signer(signer_info, certs)
    return TokenInfo(
        gen_time=tst["gen_time"].native.astimezone(UTC),
        serial=int(tst["serial_number"].native),
        policy=tst["policy"].dotted,
        imprint_algorithm=IMPRINT_ALGORITHMS.get(oid) or _algorithm_name(imprint["hash_algorithm"]),
        imprint=bytes(imprint["hashed_message"].native),
        nonce=int(nonce) if nonce is not None else None,
        tsa_name=_general_name_text(tsa) if tsa.contents else None,
        accuracy=_accuracy_text(tst["accuracy"]),
        signer_subject=name_rfc4514(signer.subject) if signer is not None else None,
        certificates=tuple(c.dump() for c in certs),
    )


def _algorithm_name(alg: core.Sequence) -> str:
    """Name of a digest algorithm, or of the signature algorithm some tokens wrongly put there, or the OID."""
    oid = alg["algorithm"].dotted
    return str(algos.DigestAlgorithmId._map.get(oid) or algos.SignedDigestAlgorithmId._map.get(oid) or oid)


def _general_name_text(name: x509.GeneralName) -> str:
    if name.name == "directory_name":
        return name_rfc4514(name.chosen)
    return f"{name.name}:{name.native}"


def _accuracy_text(accuracy: tsp.Accuracy) -> str | None:
    if isinstance(accuracy, core.Void):
        return None
    micros = (
        (accuracy["seconds"].native or 0) * 1_000_000
        + (accuracy["millis"].native or 0) * 1_000
        + (accuracy["micros"].native or 0)
    )
    seconds, frac = divmod(micros, 1_000_000)
    return f"{seconds}.{frac:06d}".rstrip("0").rstrip(".") + "s"


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 §7.1 name equality, on the bytes first: asn1crypto's comparison prepares every string
    (a third of a token check's time), and names that are byte-equal are equal."""
    return bool(a.dump() == b.dump() or a == b)


def find_signer(signer_info: cms.SignerInfo, certs: Sequence[x509.Certificate]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (cert.serial_number == sid.chosen["serial_number"].native
                    and same_name(cert.issuer, sid.chosen["issuer"])):
                return cert
        elif cert.key_identifier is not None and cert.key_identifier == sid.chosen.native:
            return cert
    return None


def sid_text(signer_info: cms.SignerInfo) -> str:
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        return f"issuer '{name_rfc4514(sid.chosen['issuer'])}' serial {sid.chosen['serial_number'].native:#x}"
    return f"subjectKeyIdentifier {sid.chosen.native.hex()}"
