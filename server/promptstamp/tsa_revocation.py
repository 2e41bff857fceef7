"""Revocation data for a time-stamp token, captured right after stamping and archived with it.

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
from .errors import InvalidInput, TimestampError
from .model import utc_now
from .ocsp import OcspStatus, build_request, ocsp_url, read_response
from .timestamping import fetch_ocsp


@dataclass(frozen=True)
class CertStatus:
    cert: bytes  # DER
    issuer: bytes  # DER
    url: str | None
    response: bytes | None  # DER OCSPResponse, None when the certificate names no responder


def capture(chain: Sequence[bytes], timeout: float = 10.0) -> list[CertStatus]:
    """OCSP responses for ``chain`` (signer .. root, DER), each checked; raises TimestampError when a
    responder is unreachable or its answer does not hold (the caller retries later)."""
    out = []
    for cert, issuer in zip(chain, chain[1:], strict=False):
        url = ocsp_url(cert)
        if url is None:
            out.append(CertStatus(cert, issuer, None, None))
            continue
        response = fetch_ocsp(url, build_request(cert, issuer), timeout)
        try:
            read_response(response, cert, issuer)
        except InvalidInput as e:
            raise TimestampError(f"OCSP {url}: {e.detail}") from e
        out.append(CertStatus(cert, issuer, url, response))
    return out


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
