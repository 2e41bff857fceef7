"""Revocation data for a time-stamp token, captured right after stamping (``revocation_fetch``) and
archived with it; this module holds its format and reads it back without network.

For each certificate of the verified chain below the root (the TSA signer, then each intermediate),
the OCSP response its issuer's responder gives (``ocsp``) is fetched and checked; the set is stored
write-once beside the batch's tokens and goes into bundles, so that verifiers can judge the token at
its genTime without network access, decades later. A certificate that names no OCSP responder is
listed with ``"ocsp": null`` (CRLs are not fetched): the verifier reports that its status is unknown.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from . import fastjson
from .errors import InvalidInput
from .model import utc_now
from .ocsp import OcspStatus, read_response


@dataclass(frozen=True)
class CertStatus:
    cert: bytes  # DER
    issuer: bytes  # DER
    url: str | None
    response: bytes | None  # DER OCSPResponse, None when the certificate names no responder


def encode(tsa: str, statuses: Sequence[CertStatus]) -> bytes:
    """The stored and bundled form: JSON with base64 DER (certificates included, so that the file
    can be checked on its own)."""
    def b64(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode()
    return fastjson.dumps({"v": 1, "tsa": tsa, "fetched_at": utc_now(), "certificates": [
        {"cert": b64(s.cert), "issuer": b64(s.issuer), "url": s.url, "ocsp": b64(s.response)} for s in statuses]})


def decode(data: bytes, where: str) -> list[CertStatus]:
    try:
        doc = fastjson.loads(data)
        return [CertStatus(cert=base64.b64decode(c["cert"], validate=True),
                           issuer=base64.b64decode(c["issuer"], validate=True), url=c.get("url"),
                           response=None if c.get("ocsp") is None else base64.b64decode(c["ocsp"], validate=True))
                for c in doc["certificates"]]
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidInput(f"{where}: unreadable revocation data: {e}") from e


def statuses(data: Sequence[CertStatus]) -> list[OcspStatus | None]:
    """What each archived response says (None: no responder named); raises InvalidInput if one does not hold."""
    return [None if s.response is None else read_response(s.response, s.cert, s.issuer) for s in data]


def encode_wanted(chain: Sequence[bytes]) -> bytes:
    """The marker of a token whose revocation data is still to fetch: its validated chain."""
    return fastjson.dumps({"v": 1, "chain": [base64.b64encode(c).decode() for c in chain]})


def decode_wanted(data: bytes) -> tuple[bytes, ...]:
    try:
        return tuple(base64.b64decode(c, validate=True) for c in fastjson.loads(data)["chain"])
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidInput(f"unreadable revocation marker: {e}") from e
