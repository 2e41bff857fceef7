"""RFC 3161 time-stamp tokens: verification (parsing in ``token_parse``, the path in ``token_paths``). No I/O.

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
11. ``chain``             a path from the signer to one of the given roots, valid at genTime (``token_paths``:
                          pyhanko-certvalidator, no fetching). Only the given roots are anchors; embedded and
                          extra certificates are offered as intermediates, never trusted.

Failures raise ``errors.TokenError(detail, code=<check>)``. When every check passed except that no path
reaches a given root (including a self-signed TSA certificate), ``UntrustedTokenRoot`` (an
``errors.UntrustedAnchor``, code ``untrusted_anchor``, ``check == "chain"``) is raised instead: the token
is intact but rests on an anchor the caller did not trust; ``stopped_at`` names where the chain stopped.

A verdict says what it rests on: the root, the chain, whether the same path is still valid today
(``valid_now``; revocation is not checked, no CRL/OCSP data is consulted) and notes such as
"validated at genTime only; leaf '...' expired 2026-01-17".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, core, tsp, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko.sign.general import check_ess_certid
from pyhanko.sign.validation.generic_cms import validate_algorithm_protection
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
from .token_parse import (
    DIGEST_SIZE,
    IMPRINT_ALGORITHMS,
    ParsedToken,
    fail,
    find_signer,
    parse_token,
    same_name,
    sid_text,
)
from .token_parse import TokenInfo as TokenInfo
from .token_parse import token_from_response as token_from_response
from .token_parse import token_info as token_info
from .token_paths import PathInvalid, PathStops, find_path

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

_WEAK_DIGESTS = ("md2", "md5", "sha1")
# Signature mechanism (asn1crypto name) -> the key algorithms it can be verified with.
_KEY_FOR_MECHANISM = {
    "rsassa_pkcs1v15": ("rsa",),
    "rsassa_pss": ("rsa", "rsassa_pss"),
    "ecdsa": ("ec",),
    "ed25519": ("ed25519",),
    "ed448": ("ed448",),
}


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
    tok = parse_token(token_der)  # 1 structure, 2 status
    info = tok.info
    check = "imprint_algorithm"
    try:
        alg = _check_imprint_algorithm(info, tok.tst_info)  # 3
        check = "imprint"
        _check_imprint(info, alg, digest, data)  # 4
        check = "nonce"
        if nonce is not None and info.nonce != nonce:  # 5
            found = f"{info.nonce:#x}" if info.nonce is not None else "no nonce"
            raise fail("nonce", f"expected nonce {nonce:#x}, found {found}")
        check = "policy"
        if policy is not None and info.policy != policy:  # 6
            raise fail("policy", f"expected TSA policy {policy}, found {info.policy}")
        check = "signer"
        extra = tuple(load_certificate(d) for d in extra_certs)
        signer = find_signer(tok.signer_info, tok.certs + extra)  # 7
        if signer is None:
            raise fail(
                "signer",
                f"expected a certificate matching the SignerIdentifier ({sid_text(tok.signer_info)}), found none "
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
        raise fail(check, f"malformed data met during the {check} check: {e}") from e


def _check_imprint_algorithm(info: TokenInfo, tst: tsp.TSTInfo) -> str:
    oid = tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted
    alg = IMPRINT_ALGORITHMS.get(oid)
    if alg is None:
        raise fail(
            "imprint_algorithm",
            f"expected message imprint algorithm sha256, sha384 or sha512, found {info.imprint_algorithm}"
            + (f" ({oid})" if info.imprint_algorithm != oid else ""),
        )
    if len(info.imprint) != DIGEST_SIZE[alg]:
        size = DIGEST_SIZE[alg]
        raise fail("imprint_algorithm", f"expected a {size}-byte {alg} imprint, found {len(info.imprint)} bytes")
    return alg


def _check_imprint(info: TokenInfo, alg: str, digest: bytes | None, data: bytes | None) -> None:
    if data is not None:
        expected, what = hashlib.new(alg, data).digest(), f"{alg} of the data"
    else:
        expected, what = bytes(digest or b""), "the given digest"
    if expected != info.imprint:
        raise fail("imprint", f"expected imprint {expected.hex()} ({what}), found {alg} {info.imprint.hex()}")


def _signed_attr(signer_info: cms.SignerInfo, name: str) -> list[core.Asn1Value]:
    """Values of one signed attribute type; a type present twice counts as malformed (RFC 5652 §5.3)."""
    found = [a for a in signer_info["signed_attrs"] if a["type"].native == name]
    if len(found) > 1:
        raise fail("signature", f"expected at most one {name} signed attribute, found {len(found)}")
    return list(found[0]["values"]) if found else []


def _check_signature(tok: ParsedToken, signer: x509.Certificate) -> None:
    si = tok.signer_info
    if not tok.signed_attrs_der:
        raise fail("signature", "expected signed attributes (contentType, messageDigest), found none")
    content_type = _signed_attr(si, "content_type")
    if len(content_type) != 1 or content_type[0].native != "tst_info":
        found = [v.native for v in content_type] or "none"
        raise fail("signature", f"expected contentType signed attribute id-ct-TSTInfo, found {found}")
    md_alg = si["digest_algorithm"]["algorithm"].native
    if md_alg in _WEAK_DIGESTS:
        # collisions on the signed attributes would let one signature vouch for another TSTInfo
        raise fail("signature", f"expected a collision-resistant signature digest (SHA-2, SHA-3), found {md_alg}")
    try:
        content_digest = hashlib.new(md_alg, tok.content).digest()
    except (ValueError, TypeError) as e:
        raise fail("signature", f"expected a known digest algorithm, found {md_alg}") from e
    message_digest = _signed_attr(si, "message_digest")
    if len(message_digest) != 1 or message_digest[0].native != content_digest:
        found = message_digest[0].native.hex() if len(message_digest) == 1 else "none"
        raise fail(
            "signature",
            f"expected messageDigest {md_alg} {content_digest.hex()} of the TSTInfo, found {found}",
        )
    sig_alg = si["signature_algorithm"]
    try:
        # RFC 6211: if the signer protected its algorithm choice, the unprotected fields must agree with it
        validate_algorithm_protection(si["signed_attrs"], si["digest_algorithm"], sig_alg, None)
    except ValueError as e:
        raise fail("signature", f"CMS algorithm protection: {getattr(e, 'failure_message', e)}") from e
    try:
        mechanism = sig_alg.signature_algo
    except ValueError as e:
        raise fail("signature", f"expected a known signature algorithm, found {sig_alg['algorithm'].dotted}") from e
    key_alg = signer.public_key.algorithm
    if key_alg not in _KEY_FOR_MECHANISM.get(mechanism, ()):
        raise fail("signature", f"expected a key for {mechanism}, found a {key_alg} key in the signer's certificate")
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
        raise fail(
            "signature",
            f"expected a valid {mechanism}/{md_alg} signature by '{name_rfc4514(signer.subject)}', found: {reason}",
        ) from e
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise fail("signature", f"cannot verify a {mechanism}/{md_alg} signature: {e}") from e


def _ess_matches(signer: x509.Certificate, cert_id: tsp.ESSCertID | tsp.ESSCertIDv2, attr: str) -> bool:
    """pyHanko's ``check_ess_certid``, with a faster yes for the usual case: the certificate's hash, serial
    and issuer bytes all equal. pyHanko compares the issuer's encoding inside its GeneralName, explicit tag
    included, with the certificate's untagged issuer, which never matches, so every token fell through to
    asn1crypto's stringprep comparison of names: three quarters of a token check. Anything but that exact
    match is still decided by pyHanko."""
    hash_alg = "sha1" if attr == "signing_certificate" else cert_id["hash_algorithm"]["algorithm"].native
    if hash_alg in hashlib.algorithms_guaranteed and \
            hashlib.new(hash_alg, signer.dump()).digest() == cert_id["cert_hash"].native:
        issuer_serial = cert_id["issuer_serial"]
        if not issuer_serial:
            return True
        names = issuer_serial["issuer"]
        if (len(names) == 1 and names[0].name == "directory_name"
                and issuer_serial["serial_number"] == signer["tbs_certificate"]["serial_number"]
                and names[0].chosen.untag().dump() == signer.issuer.dump()):
            return True
    return bool(check_ess_certid(signer, cert_id))


def _check_ess(signer_info: cms.SignerInfo, signer: x509.Certificate) -> None:
    subject = name_rfc4514(signer.subject)
    present = False
    for attr in ("signing_certificate_v2", "signing_certificate"):
        try:
            values = _signed_attr(signer_info, attr)
        except TokenError as e:
            raise fail("ess", e.detail) from e
        if not values:
            continue
        present = True
        if len(values) != 1 or not len(values[0]["certs"]):
            raise fail("ess", f"expected one {attr} value with at least one ESSCertID, found {len(values)} value(s)")
        cert_id = values[0]["certs"][0]
        try:
            matches = _ess_matches(signer, cert_id, attr)
        except (ValueError, TypeError, KeyError) as e:
            raise fail("ess", f"cannot evaluate {attr}: {e}") from e
        if not matches:
            hash_alg = "sha1" if attr == "signing_certificate" else cert_id["hash_algorithm"]["algorithm"].native
            actual = hashlib.new(hash_alg, signer.dump()).hexdigest()
            raise fail(
                "ess",
                f"expected {attr} to identify the signer '{subject}' ({hash_alg} {actual}), "
                f"found certHash {cert_id['cert_hash'].native.hex()}",
            )
    if not present:
        raise fail(
            "ess",
            "expected an ESS signingCertificate or signingCertificateV2 signed attribute (RFC 3161 §2.4.1, "
            "RFC 5816), found neither",
        )


_TIME_STAMPING = "1.3.6.1.5.5.7.3.8"


def _check_eku(signer: x509.Certificate) -> None:
    subject = name_rfc4514(signer.subject)
    exts = [e for e in signer["tbs_certificate"]["extensions"] if e["extn_id"].native == "extended_key_usage"]
    if not exts:
        raise fail("eku", f"expected '{subject}' to carry a critical extendedKeyUsage timeStamping, found none")
    purposes = [p.dotted for p in exts[0]["extn_value"].parsed]
    if purposes != [_TIME_STAMPING]:
        names = ", ".join(str(p.native) for p in exts[0]["extn_value"].parsed) or "an empty list"
        raise fail("eku", f"expected extendedKeyUsage exactly timeStamping (RFC 3161 §2.3), found {names}")
    if not exts[0]["critical"].native:
        raise fail("eku", "expected a critical timeStamping extendedKeyUsage (RFC 3161 §2.3), found it non-critical")


def _check_chain(
    tok: ParsedToken, signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate],
    at: datetime,
) -> TokenVerdict:
    info = tok.info
    try:
        path = find_path(signer, anchors, others, info.gen_time, at)
    except PathStops as e:
        raise UntrustedTokenRoot(e.detail, info=info, chain=e.chain, stopped_at=e.stopped_at) from e
    except PathInvalid as e:
        raise fail("chain", str(e)) from e
    notes = []
    if tok.status == "granted_with_mods":
        notes.append("the TSA granted the request with modifications (PKIStatus grantedWithMods)")
    if path.signer_is_root:
        notes.append("the signer certificate is itself one of the given roots")
    tsa = tok.tst_info["tsa"]
    if tsa.contents and not (tsa.name == "directory_name" and same_name(tsa.chosen, signer.subject)):
        notes.append(f"TSTInfo.tsa names '{info.tsa_name}', the signer is '{name_rfc4514(signer.subject)}'")
    if path.lapsed:
        notes.append("validated at genTime only; " + "; ".join(path.lapsed))
    return TokenVerdict(info=info, root_subject=path.root_subject, chain=path.chain, valid_now=not path.lapsed,
                        notes=tuple(notes), expires=path.expires)
