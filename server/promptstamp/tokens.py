"""RFC 3161 time-stamp tokens: parsing and verification (the only pyHanko importer). No I/O.

``verify_token`` runs these checks in this order and raises at the first failure; the check's name
is the error's ``code`` (``CHECKS``), the detail says what was expected and what was found:

 1. ``structure``         DER TimeStampResp or TimeStampToken: SignedData with one SignerInfo over a TSTInfo
 2. ``status``            a response's PKIStatus is granted or grantedWithMods (RFC 3161 §2.4.2)
 3. ``imprint_algorithm`` the message imprint uses SHA-256, SHA-384 or SHA-512, with a digest of that size
 4. ``imprint``           the imprint equals the given digest, or the hash of the given data
 5. ``nonce``             TSTInfo.nonce equals the request's nonce (if one is given)
 6. ``policy``            TSTInfo.policy equals the required policy (if one is given)
 7. ``signer``            the SignerIdentifier (issuer+serial or SKI) names an embedded or supplied certificate
 8. ``signature``         contentType and messageDigest signed attributes match; the signature over them
                          verifies with the signer's key (RSA PKCS#1 v1.5, RSA-PSS, ECDSA, Ed25519)
 9. ``ess``               ESS signingCertificate(V2) is present and its first ESSCertID is the signer's certificate
                          (RFC 3161 §2.4.1, RFC 5816)
10. ``eku``               the signer's extendedKeyUsage is exactly id-kp-timeStamping and critical (RFC 3161 §2.3)
11. ``chain``             a path from the signer to one of the given roots, valid at genTime (pyhanko-certvalidator,
                          no fetching). Only the given roots are anchors; embedded and extra certificates are
                          offered as intermediates, never trusted.

Failures raise ``errors.TokenError(detail, code=<check>)``. When every check passed except that no path
reaches a given root (including a self-signed TSA certificate), ``UntrustedTokenRoot`` (an
``errors.UntrustedAnchor``, code ``untrusted_anchor``, ``check == "chain"``) is raised instead: the token
is intact but rests on an anchor the caller did not trust; ``stopped_at`` names where the chain stopped.

A verdict says what it rests on: the root, the chain, whether the same path is still valid today
(``valid_now``; revocation is not checked, no CRL/OCSP data is consulted) and notes such as
"validated at genTime only; leaf '...' expired 2026-01-17".
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, parser, tsp, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko.sign.general import check_ess_certid
from pyhanko.sign.validation.generic_cms import validate_algorithm_protection
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    PathBuildingError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

from .certs import ASN1_ERRORS as _ASN1_ERRORS
from .certs import DEV_TSA_LABEL as DEV_TSA_LABEL
from .certs import DEV_TSA_POLICY as DEV_TSA_POLICY
from .certs import certificate_subject as certificate_subject
from .certs import certificates_pem as certificates_pem
from .certs import is_development_certificate as is_development_certificate
from .certs import is_self_issued as is_self_issued
from .certs import load_certificate
from .certs import load_pem_certificates as load_pem_certificates
from .certs import name_rfc4514 as name_rfc4514
from .errors import TokenError, UntrustedAnchor
from .model import iso_utc

CHECKS = (
    "structure",
    "status",
    "imprint_algorithm",
    "imprint",
    "nonce",
    "policy",
    "signer",
    "signature",
    "ess",
    "eku",
    "chain",
)

# RFC 3161 §2.4.1 leaves the hash open; we accept the SHA-2 family only (no SHA-1, no signature OIDs).
IMPRINT_ALGORITHMS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_DIGEST_SIZE = {"sha256": 32, "sha384": 48, "sha512": 64}
_GRANTED = ("granted", "granted_with_mods")
_WEAK_DIGESTS = ("md2", "md5", "sha1")
# asn1crypto errors for malformed or truncated DER; it parses lazily, so they surface on first access.
# cryptography's UnsupportedAlgorithm: a damaged key (e.g. an unknown curve OID) met while loading it.
# Signature mechanism (asn1crypto name) -> the key algorithms it can be verified with.
_KEY_FOR_MECHANISM = {
    "rsassa_pkcs1v15": ("rsa",),
    "rsassa_pss": ("rsa", "rsassa_pss"),
    "ecdsa": ("ec",),
    "ed25519": ("ed25519",),
    "ed448": ("ed448",),
}
# cryptography's RFC 4514 short names; other attribute types are written as dotted OIDs.


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
class TokenVerdict:
    """A token that passed every check, and what the result rests on."""

    info: TokenInfo
    root_subject: str  # RFC 4514 subject of the trust anchor the chain ended in
    chain: tuple[bytes, ...]  # signer .. root, DER
    valid_now: bool  # the path is also valid today, or at the ``at`` given (False e.g. once a certificate expired)
    notes: tuple[str, ...]
    expires: datetime | None = None  # the first notAfter on the path below its anchor: valid_now flips then


class UntrustedTokenRoot(UntrustedAnchor):
    """Every check passed except the last: no path from the signer reaches one of the given roots."""

    def __init__(self, detail: str, *, info: TokenInfo, chain: tuple[bytes, ...], stopped_at: str) -> None:
        super().__init__(detail)
        self.check = "chain"
        self.info = info
        self.chain = chain  # signer .. the last certificate found, DER
        self.stopped_at = stopped_at  # RFC 4514 name of the issuer the chain stopped at


# --- development tokens ---------------------------------------------------------------------------


def development_token_detail(info: TokenInfo) -> str | None:
    """Why a token that passed every check still proves nothing: it carries the dev TSA policy."""
    if info.policy != DEV_TSA_POLICY:
        return None
    return (f"the token carries policy {DEV_TSA_POLICY}, the PromptStamp development TSA's: a locally made "
            "TSA whose root anyone can generate, so it is untrusted whatever root it chains to")


# --- parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    info: TokenInfo
    signed_data: cms.SignedData
    tst_info: tsp.TSTInfo
    signer_info: cms.SignerInfo
    certs: tuple[x509.Certificate, ...]
    status: str  # 'granted' | 'granted_with_mods' ('granted' for a bare token)
    signed_attrs_der: bytes  # the signed attributes as received, re-tagged SET OF: what the signature covers
    content: bytes  # the encapsulated TSTInfo octets: what messageDigest covers


def _fail(check: str, detail: str) -> TokenError:
    return TokenError(detail, code=check)


def _outer_kind(der: bytes) -> str:
    """'response' or 'token', from the first element inside the outer SEQUENCE."""
    try:
        cls, method, tag, _h, contents, _t = parser.parse(der, strict=True)
        if (cls, method, tag) != (0, 1, 16) or not contents:
            raise ValueError("outer element is not a SEQUENCE")
        cls, _m, tag, _h, _c, _t = parser.parse(contents)
    except _ASN1_ERRORS as e:
        raise _fail("structure", f"expected a DER TimeStampResp or TimeStampToken, found undecodable data: {e}") from e
    if (cls, tag) == (0, 6):
        return "token"  # ContentInfo starts with its contentType OID
    if (cls, tag) == (0, 16):
        return "response"  # TimeStampResp starts with PKIStatusInfo
    raise _fail("structure", f"expected a TimeStampResp or ContentInfo, found a SEQUENCE starting with tag {tag}")


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
        raise _fail("structure", f"malformed TimeStampResp: {e}") from e
    if status not in _GRANTED:
        raise _fail("status", f"expected PKIStatus granted (0) or grantedWithMods (1), found {text}")
    token = resp["time_stamp_token"]
    if not token.contents:
        raise _fail("structure", f"response is {text} but carries no TimeStampToken")
    return token.dump(), str(status)


def token_from_response(der: bytes) -> bytes:
    """TimeStampResp DER -> its TimeStampToken (ContentInfo) DER, byte for byte as the TSA sent it.

    Raises TokenError code 'status' for a rejection (with PKIStatus, statusString and failInfo) and
    code 'structure' for anything that is not a TimeStampResp.
    """
    if _outer_kind(der) != "response":
        raise _fail("structure", "expected a TimeStampResp, found a bare TimeStampToken (ContentInfo)")
    return _split_response(der)[0]


def token_info(token_der: bytes) -> TokenInfo:
    """Parse a bare token or a TimeStampResp; checks nothing beyond structure (and a response's status)."""
    return _parse(token_der).info


def _parse(der: bytes) -> _Token:
    token_der, status = _split_response(der)
    try:
        ci = cms.ContentInfo.load(token_der, strict=True)
        if ci["content_type"].native != "signed_data":
            raise _fail("structure", f"expected ContentInfo of signedData, found {ci['content_type'].dotted}")
        sd = ci["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].native != "tst_info":
            raise _fail("structure", f"expected eContentType id-ct-TSTInfo, found {eci['content_type'].dotted}")
        if not isinstance(eci["content"], core.ParsableOctetString):
            raise _fail("structure", "SignedData carries no encapsulated TSTInfo")
        tst = eci["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            raise _fail("structure", "encapsulated content is not a TSTInfo")
        signer_infos = sd["signer_infos"]
        if len(signer_infos) != 1:
            # RFC 3161 §2.4.2: the token carries the TSA's signature and no other
            raise _fail("structure", f"expected exactly 1 SignerInfo, found {len(signer_infos)}")
        signer_info = signer_infos[0]
        # Take the signed bytes before anything else touches the object: asn1crypto re-encodes values it
        # considers modified, and re-sorting a TSA's non-DER SET would break a good signature.
        signed_attrs = signer_info["signed_attrs"]
        signed_attrs_der = b"\x31" + signed_attrs.dump()[1:] if signed_attrs.contents else b""
        content = bytes(eci["content"])
        certs = tuple(c.chosen for c in (sd["certificates"] or []) if c.name == "certificate")
        info = _info(tst, signer_info, certs)
    except _ASN1_ERRORS as e:
        raise _fail("structure", f"malformed TimeStampToken: {e}") from e
    return _Token(info, sd, tst, signer_info, certs, status, signed_attrs_der, content)


def _info(tst: tsp.TSTInfo, signer_info: cms.SignerInfo, certs: tuple[x509.Certificate, ...]) -> TokenInfo:
    imprint = tst["message_imprint"]
    oid = imprint["hash_algorithm"]["algorithm"].dotted
    nonce = tst["nonce"].native
    tsa = tst["tsa"]
    signer = _find_signer(signer_info, certs)
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


def _find_signer(signer_info: cms.SignerInfo, certs: Sequence[x509.Certificate]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native:
                return cert
        elif cert.key_identifier is not None and cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _sid_text(signer_info: cms.SignerInfo) -> str:
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        return f"issuer '{name_rfc4514(sid.chosen['issuer'])}' serial {sid.chosen['serial_number'].native:#x}"
    return f"subjectKeyIdentifier {sid.chosen.native.hex()}"


# --- verification ---------------------------------------------------------------------------------


def verify_token(
    token_der: bytes,
    *,
    digest: bytes | None = None,
    data: bytes | None = None,
    roots: Sequence[bytes],
    extra_certs: Sequence[bytes] = (),
    nonce: int | None = None,
    policy: str | None = None,
    at: datetime | None = None,
) -> TokenVerdict:
    """Run every check of the module docstring on a bare token or a TimeStampResp; raise at the first failure.

    Give exactly one of ``digest`` (compared with the imprint as is) or ``data`` (hashed with the imprint's
    algorithm). ``roots`` are the only trust anchors (DER); ``extra_certs`` (DER) may supply the signer and
    intermediates for tokens issued without certificates; they are never trusted.
    """
    if (digest is None) == (data is None):
        raise ValueError("verify_token needs exactly one of digest= or data=")
    tok = _parse(token_der)  # 1 structure, 2 status
    info = tok.info
    check = "imprint_algorithm"
    try:
        alg = _check_imprint_algorithm(info, tok.tst_info)  # 3
        check = "imprint"
        _check_imprint(info, alg, digest, data)  # 4
        check = "nonce"
        if nonce is not None and info.nonce != nonce:  # 5
            found = f"{info.nonce:#x}" if info.nonce is not None else "no nonce"
            raise _fail("nonce", f"expected nonce {nonce:#x}, found {found}")
        check = "policy"
        if policy is not None and info.policy != policy:  # 6
            raise _fail("policy", f"expected TSA policy {policy}, found {info.policy}")
        check = "signer"
        extra = tuple(load_certificate(d) for d in extra_certs)
        signer = _find_signer(tok.signer_info, tok.certs + extra)  # 7
        if signer is None:
            raise _fail(
                "signer",
                f"expected a certificate matching the SignerIdentifier ({_sid_text(tok.signer_info)}), found none "
                f"among {len(tok.certs)} embedded and {len(extra)} supplied certificate(s)",
            )
        check = "signature"
        _check_signature(tok, signer)  # 8
        check = "ess"
        _check_ess(tok.signer_info, signer)  # 9
        check = "eku"
        _check_eku(signer)  # 10
        check = "chain"
        anchors = [x509.Certificate.load(r) for r in roots]
        return _check_chain(tok, signer, anchors, list(tok.certs + extra), at or datetime.now(UTC))  # 11
    except _ASN1_ERRORS as e:
        # asn1crypto parses lazily: a malformed part deep inside surfaces in the check that reads it
        raise _fail(check, f"malformed data met during the {check} check: {e}") from e


def _check_imprint_algorithm(info: TokenInfo, tst: tsp.TSTInfo) -> str:
    oid = tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted
    alg = IMPRINT_ALGORITHMS.get(oid)
    if alg is None:
        raise _fail(
            "imprint_algorithm",
            f"expected message imprint algorithm sha256, sha384 or sha512, found {info.imprint_algorithm}"
            + (f" ({oid})" if info.imprint_algorithm != oid else ""),
        )
    if len(info.imprint) != _DIGEST_SIZE[alg]:
        size = _DIGEST_SIZE[alg]
        raise _fail("imprint_algorithm", f"expected a {size}-byte {alg} imprint, found {len(info.imprint)} bytes")
    return alg


def _check_imprint(info: TokenInfo, alg: str, digest: bytes | None, data: bytes | None) -> None:
    if data is not None:
        expected, what = hashlib.new(alg, data).digest(), f"{alg} of the data"
    else:
        expected, what = bytes(digest or b""), "the given digest"
    if expected != info.imprint:
        raise _fail("imprint", f"expected imprint {expected.hex()} ({what}), found {alg} {info.imprint.hex()}")


def _signed_attr(signer_info: cms.SignerInfo, name: str) -> list[core.Asn1Value]:
    """Values of one signed attribute type; a type present twice counts as malformed (RFC 5652 §5.3)."""
    found = [a for a in signer_info["signed_attrs"] if a["type"].native == name]
    if len(found) > 1:
        raise _fail("signature", f"expected at most one {name} signed attribute, found {len(found)}")
    return list(found[0]["values"]) if found else []


def _check_signature(tok: _Token, signer: x509.Certificate) -> None:
    si = tok.signer_info
    if not tok.signed_attrs_der:
        raise _fail("signature", "expected signed attributes (contentType, messageDigest), found none")
    content_type = _signed_attr(si, "content_type")
    if len(content_type) != 1 or content_type[0].native != "tst_info":
        found = [v.native for v in content_type] or "none"
        raise _fail("signature", f"expected contentType signed attribute id-ct-TSTInfo, found {found}")
    md_alg = si["digest_algorithm"]["algorithm"].native
    if md_alg in _WEAK_DIGESTS:
        # collisions on the signed attributes would let one signature vouch for another TSTInfo
        raise _fail("signature", f"expected a collision-resistant signature digest (SHA-2, SHA-3), found {md_alg}")
    try:
        content_digest = hashlib.new(md_alg, tok.content).digest()
    except (ValueError, TypeError) as e:
        raise _fail("signature", f"expected a known digest algorithm, found {md_alg}") from e
    message_digest = _signed_attr(si, "message_digest")
    if len(message_digest) != 1 or message_digest[0].native != content_digest:
        found = message_digest[0].native.hex() if len(message_digest) == 1 else "none"
        raise _fail(
            "signature",
            f"expected messageDigest {md_alg} {content_digest.hex()} of the TSTInfo, found {found}",
        )
    sig_alg = si["signature_algorithm"]
    try:
        # RFC 6211: if the signer protected its algorithm choice, the unprotected fields must agree with it
        validate_algorithm_protection(si["signed_attrs"], si["digest_algorithm"], sig_alg, None)
    except ValueError as e:
        raise _fail("signature", f"CMS algorithm protection: {getattr(e, 'failure_message', e)}") from e
    try:
        mechanism = sig_alg.signature_algo
    except ValueError as e:
        raise _fail("signature", f"expected a known signature algorithm, found {sig_alg['algorithm'].dotted}") from e
    key_alg = signer.public_key.algorithm
    if key_alg not in _KEY_FOR_MECHANISM.get(mechanism, ()):
        raise _fail("signature", f"expected a key for {mechanism}, found a {key_alg} key in the signer's certificate")
    try:
        DefaultSignatureValidator().validate_signature(
            si["signature"].native,
            tok.signed_attrs_der,
            signer.public_key,
            sig_alg,
            context=SignatureValidationContext(contextual_md_algorithm=md_alg),
        )
    except InvalidSignature as e:  # also pyhanko's AlgorithmNotSupported and PSSParameterMismatch
        reason = str(e) or "signature does not verify"
        raise _fail(
            "signature",
            f"expected a valid {mechanism}/{md_alg} signature by '{name_rfc4514(signer.subject)}', found: {reason}",
        ) from e
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise _fail("signature", f"cannot verify a {mechanism}/{md_alg} signature: {e}") from e


def _check_ess(signer_info: cms.SignerInfo, signer: x509.Certificate) -> None:
    subject = name_rfc4514(signer.subject)
    present = False
    for attr in ("signing_certificate_v2", "signing_certificate"):
        try:
            values = _signed_attr(signer_info, attr)
        except TokenError as e:
            raise _fail("ess", e.detail) from e
        if not values:
            continue
        present = True
        if len(values) != 1 or not len(values[0]["certs"]):
            raise _fail("ess", f"expected one {attr} value with at least one ESSCertID, found {len(values)} value(s)")
        cert_id = values[0]["certs"][0]
        try:
            matches = check_ess_certid(signer, cert_id)
        except (ValueError, TypeError, KeyError) as e:
            raise _fail("ess", f"cannot evaluate {attr}: {e}") from e
        if not matches:
            hash_alg = "sha1" if attr == "signing_certificate" else cert_id["hash_algorithm"]["algorithm"].native
            actual = hashlib.new(hash_alg, signer.dump()).hexdigest()
            raise _fail(
                "ess",
                f"expected {attr} to identify the signer '{subject}' ({hash_alg} {actual}), "
                f"found certHash {cert_id['cert_hash'].native.hex()}",
            )
    if not present:
        raise _fail(
            "ess",
            "expected an ESS signingCertificate or signingCertificateV2 signed attribute (RFC 3161 §2.4.1, "
            "RFC 5816), found neither",
        )


_TIME_STAMPING = "1.3.6.1.5.5.7.3.8"


def _check_eku(signer: x509.Certificate) -> None:
    subject = name_rfc4514(signer.subject)
    exts = [e for e in signer["tbs_certificate"]["extensions"] if e["extn_id"].native == "extended_key_usage"]
    if not exts:
        raise _fail("eku", f"expected '{subject}' to carry a critical extendedKeyUsage timeStamping, found none")
    purposes = [p.dotted for p in exts[0]["extn_value"].parsed]
    if purposes != [_TIME_STAMPING]:
        names = ", ".join(str(p.native) for p in exts[0]["extn_value"].parsed) or "an empty list"
        raise _fail("eku", f"expected extendedKeyUsage exactly timeStamping (RFC 3161 §2.3), found {names}")
    if not exts[0]["critical"].native:
        raise _fail("eku", "expected a critical timeStamping extendedKeyUsage (RFC 3161 §2.3), found it non-critical")


def _validate_path(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate], moment: datetime
) -> ValidationPath:
    # Only `anchors` are trusted; allow_fetching=False keeps verification offline (timestamping.md §8).
    context = ValidationContext(trust_roots=anchors, other_certs=others, moment=moment, allow_fetching=False)
    path: ValidationPath = asyncio.run(CertificateValidator(signer, validation_context=context).async_validate_path())
    return path


def _find_path(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate], moment: datetime
) -> ValidationPath:
    """Validate with the anchors whose subject is byte-equal to an issuer in the pool first (a system bundle
    has ~150 roots and loading them all into pyhanko costs ~70 ms); fall back to all of them, so that a root
    whose name is merely encoded differently is still found."""
    issuers = {c.issuer.dump() for c in [signer, *others]}
    likely = [a for a in anchors if a.subject.dump() in issuers or a.dump() == signer.dump()]
    if likely and len(likely) < len(anchors):
        try:
            return _validate_path(signer, likely, others, moment)
        except PathBuildingError:
            pass
    return _validate_path(signer, anchors, others, moment)


def _check_chain(
    tok: _Token, signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate],
    at: datetime,
) -> TokenVerdict:
    info = tok.info
    if signer.self_issued and all(a.dump() != signer.dump() for a in anchors):
        # a self-signed TSA certificate is its own anchor (pyhanko reports it as a path error)
        raise _untrusted(info, signer, anchors, others)
    try:
        path = _find_path(signer, anchors, others, info.gen_time)
    except PathBuildingError as e:
        raise _untrusted(info, signer, anchors, others) from e
    except ValidationError as e:
        when = iso_utc(info.gen_time)
        raise _fail("chain", f"expected a certificate path valid at genTime {when}, found: {e.failure_msg}") from e
    certs = list(path.iter_certs(include_root=True))
    if certs and certs[0].dump() != signer.dump():
        certs.reverse()  # signer first
    root = path.trust_anchor
    notes = []
    if tok.status == "granted_with_mods":
        notes.append("the TSA granted the request with modifications (PKIStatus grantedWithMods)")
    if path.pkix_len == 0:
        notes.append("the signer certificate is itself one of the given roots")
    tsa = tok.tst_info["tsa"]
    if tsa.contents and not (tsa.name == "directory_name" and tsa.chosen == signer.subject):
        notes.append(f"TSTInfo.tsa names '{info.tsa_name}', the signer is '{name_rfc4514(signer.subject)}'")
    # The path found at genTime, judged today: only validity periods change with time here (no revocation
    # data is consulted), so re-running path validation would add nothing but cost.
    below_anchor = list(path.iter_certs(include_root=False))
    lapsed = _lapsed_now(below_anchor, signer, at)
    valid_now = not lapsed
    if lapsed:
        notes.append("validated at genTime only; " + "; ".join(lapsed))
    return TokenVerdict(
        info=info,
        root_subject=name_rfc4514(root.authority.name),
        chain=tuple(c.dump() for c in certs),
        valid_now=valid_now,
        notes=tuple(notes),
        expires=min((c["tbs_certificate"]["validity"]["not_after"].native for c in below_anchor), default=None),
    )


def _lapsed_now(certs: list[x509.Certificate], signer: x509.Certificate, now: datetime) -> list[str]:
    """'leaf 'CN=..' expired 2026-01-17' for each non-anchor certificate of the path not valid ``now``."""
    out = []
    for cert in certs:
        validity = cert["tbs_certificate"]["validity"]
        not_before, not_after = validity["not_before"].native, validity["not_after"].native
        who = "leaf" if cert.dump() == signer.dump() else "CA"
        if not_after < now:
            out.append(f"{who} '{name_rfc4514(cert.subject)}' expired {not_after.date()}")
        elif not_before > now:
            out.append(f"{who} '{name_rfc4514(cert.subject)}' is not valid before {not_before.date()}")
    return out


def _untrusted(
    info: TokenInfo, signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate]
) -> UntrustedTokenRoot:
    chain = [signer]
    while len(chain) < 16:
        cur = chain[-1]
        if cur.self_issued:
            stopped, why = name_rfc4514(cur.subject), "a self-signed certificate"
            break
        issuer = next((c for c in others if c.subject == cur.issuer and c not in chain and _aki_fits(cur, c)), None)
        if issuer is None:
            stopped, why = name_rfc4514(cur.issuer), "an issuer whose certificate was not supplied"
            break
        chain.append(issuer)
    else:
        stopped, why = name_rfc4514(chain[-1].issuer), "a chain too long to follow"
    if 0 < len(anchors) <= 3:
        given = "; ".join(f"'{name_rfc4514(a.subject)}'" for a in anchors)
        expected = f"a path to one of the given roots ({given})"
    elif anchors:
        expected = f"a path to one of the {len(anchors)} given roots"
    else:
        expected = "a path to a trusted root (none was given)"
    detail = (
        f"token is intact but untrusted: expected {expected}, found that the chain of "
        f"'{name_rfc4514(signer.subject)}' stops at '{stopped}', {why}"
    )
    return UntrustedTokenRoot(detail, info=info, chain=tuple(c.dump() for c in chain), stopped_at=stopped)


def _aki_fits(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    aki, ski = cert.authority_key_identifier, issuer.key_identifier
    return aki is None or ski is None or aki == ski
