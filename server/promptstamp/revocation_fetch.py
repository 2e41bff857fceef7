"""Fetching a token's revocation data from the OCSP responders its certificates name (the network
half of ``tsa_revocation``; verifiers never load it)."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import InvalidInput, TimestampError
from .ocsp import build_request, ocsp_url, read_response
from .timestamping import fetch_ocsp
from .tsa_revocation import CertStatus


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
