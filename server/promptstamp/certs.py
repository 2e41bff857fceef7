"""X.509 certificate helpers for token checks and reports: PEM bundles, names as RFC 4514 text, and
what marks the built-in development TSA. Split from ``tokens`` (which re-exports these names), so
that the RFC 3161 checks read as one piece. No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asn1crypto import pem, x509
from cryptography.exceptions import UnsupportedAlgorithm

from .errors import InvalidInput

# The built-in development TSA's policy (devtsa.py issues it; an X.667 UUID-derived OID, from UUID
# ebe7bc72-8098-47a8-ba9f-f42ad8b4259c): "a locally generated, untrusted root; no clock discipline, audit
# or accountability". Every verifier treats a token carrying it as untrusted, whatever root it chains to:
# anyone can run the dev TSA and hand out its root, so a chain to it proves nothing.
DEV_TSA_POLICY = "2.25.313571821748590964836994007601738163612"
DEV_TSA_LABEL = "PromptStamp development TSA - UNTRUSTED"

#: What asn1crypto and cryptography raise on malformed DER.
ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnsupportedAlgorithm)
_RFC4514_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}


# --- certificates -------------------------------------------------------------------------------


def load_pem_certificates(data: bytes | str) -> list[bytes]:
    """DER of every CERTIFICATE block in a PEM bundle, in file order; InvalidInput if there is none."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if not pem.detect(raw):
        raise InvalidInput("expected PEM 'CERTIFICATE' blocks, found no PEM armor")
    out = []
    try:
        for kind, _headers, der in pem.unarmor(raw, multiple=True):
            if kind == "CERTIFICATE":
                x509.Certificate.load(der).native  # noqa: B018  (force a full parse now)
                out.append(der)
    except ASN1_ERRORS as e:
        raise InvalidInput(f"PEM bundle holds a malformed certificate: {e}") from e
    if not out:
        raise InvalidInput("expected PEM 'CERTIFICATE' blocks, found none")
    return out


def certificates_pem(ders: Sequence[bytes]) -> str:
    return "".join(pem.armor("CERTIFICATE", d).decode("ascii") for d in ders)


def is_self_issued(cert_der: bytes) -> bool:
    """Subject equals issuer: a root candidate (RFC 5280 §3.2)."""
    return bool(load_certificate(cert_der).self_issued)


def is_development_certificate(cert_der: bytes) -> bool:
    """A certificate of the built-in development TSA: it names the dev TSA policy or carries its label."""
    cert = load_certificate(cert_der)
    policies = cert.certificate_policies_value
    if policies is not None and any(p["policy_identifier"].dotted == DEV_TSA_POLICY for p in policies):
        return True
    return DEV_TSA_LABEL in name_rfc4514(cert.subject)


def earliest_expiry(chain: Sequence[bytes]) -> datetime | None:
    """The first notAfter among the certificates of a chain that are not self-issued (a root is a trust
    anchor: its own validity is not what a path rests on, RFC 5280 §6.1); None for no such certificate."""
    ends = [c["tbs_certificate"]["validity"]["not_after"].native for c in map(load_certificate, chain)
            if not c.self_issued]
    return min(ends) if ends else None


def certificate_subject(cert_der: bytes) -> str:
    return name_rfc4514(load_certificate(cert_der).subject)


def name_rfc4514(name: x509.Name) -> str:
    """RFC 4514 string, most significant RDN last, as ``cryptography`` writes it."""
    rdns = []
    for rdn in reversed(list(name.chosen)):
        parts = []
        for atv in rdn:
            oid = atv["type"].dotted
            value = atv["value"].native
            text = value.hex() if isinstance(value, bytes) else str(value)
            parts.append(f"{_RFC4514_NAMES.get(oid, oid)}={_escape_rfc4514(text)}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def _escape_rfc4514(value: str) -> str:
    if not value:
        return ""
    for ch in '\\"+,;<>':
        value = value.replace(ch, "\\" + ch)
    value = value.replace("\0", "\\00")
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


def load_certificate(der: bytes) -> x509.Certificate:
    try:
        cert = x509.Certificate.load(der)
        cert.native  # noqa: B018
    except ASN1_ERRORS as e:
        raise InvalidInput(f"not a DER X.509 certificate: {e}") from e
    return cert
