"""RFC 3161 requests to TSAs (the only rfc3161ng importer).

One ``TsaClient`` per configured TSA. ``stamp(digest)`` sends a TimeStampReq for a SHA-256 digest (a
batch's Merkle root) with a fresh random 64-bit nonce and certReq true, and accepts the answer only
after every check in ``tokens.verify_token`` passed: status, imprint, nonce, signature, ESS binding,
EKU and a chain to the TSA's roots at genTime. Anything else (network errors, timeouts, HTTP errors,
rejections, failed checks) raises ``TimestampError("TSA <name>: ...")`` with the cause attached.

rfc3161ng builds and encodes the request; the HTTP POST is ours (``requests``) so that we keep the
response bytes exactly as the TSA sent them. ``RemoteTimestamper(return_tsr=True)`` hands back a pyasn1
object, and re-encoding it changed 8 of the 16 real responses in our test corpus (certificate SETs
re-sorted, an empty SET dropped); a TSA whose signed attributes are not DER-sorted would even get a
broken signature. rfc3161ng's own ``check_timestamp`` is not used: it verifies RSA PKCS#1 v1.5 only
and checks no chain (reference/timestamping.md §1).

Trust: the TSA's ``ca_file`` (PEM). Its self-issued certificates are the trust anchors and any other
certificate in it is offered as an intermediate; a file without a self-issued certificate is trusted as
given. Without a ``ca_file`` the system bundle is used.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import requests
import rfc3161ng

from .config import TsaConfig
from .errors import ConfigError, InvalidInput, TimestampError, TokenError, UntrustedAnchor
from .tokens import (
    DEV_TSA_POLICY,
    TokenInfo,
    is_self_issued,
    load_pem_certificates,
    token_from_response,
    verify_token,
)

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MAX_RESPONSE_BYTES = 1024 * 1024  # real responses are 1-7 KiB; a TSA must not make us buffer gigabytes
NONCE_BITS = 64


@dataclass(frozen=True)
class StampedToken:
    """A token that passed every check, as the TSA issued it (bare TimeStampToken DER)."""

    tsa: str
    token: bytes
    info: TokenInfo
    untrusted: bool  # from the config: the dev TSA's root proves nothing to others
    chain: tuple[bytes, ...] = ()  # signer .. root (DER), as verified: whose revocation status to archive


def load_trust(ca_file: Path) -> tuple[list[bytes], list[bytes]]:
    """(trust anchors, intermediates), DER, from a PEM file (see the module docstring)."""
    try:
        certs = load_pem_certificates(ca_file.read_bytes())
    except OSError as e:
        raise ConfigError(f"cannot read CA file {ca_file}: {e.strerror or e}") from e
    except InvalidInput as e:
        raise ConfigError(f"CA file {ca_file}: {e.detail}") from e
    roots = [c for c in certs if is_self_issued(c)]
    if not roots:
        return certs, []
    return roots, [c for c in certs if not is_self_issued(c)]


class TsaClient:
    """Requests RFC 3161 tokens from one TSA. Thread-safe: it holds no mutable state."""

    def __init__(self, config: TsaConfig) -> None:
        self.config = config
        try:
            self._roots, self._extra = load_trust(config.ca_file or SYSTEM_CA_BUNDLE)
        except ConfigError as e:
            raise ConfigError(f"TSA {config.name}: {e.detail}") from e

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def roots(self) -> tuple[bytes, ...]:
        return tuple(self._roots)

    def stamp(self, digest: bytes) -> StampedToken:
        """Time-stamp a SHA-256 digest; return the token only if it verifies against this TSA's roots."""
        if len(digest) != 32:
            raise ValueError(f"expected a 32-byte SHA-256 digest, found {len(digest)} bytes")
        nonce = secrets.randbits(NONCE_BITS)
        request = rfc3161ng.make_timestamp_request(
            digest=digest, hashname="sha256", include_tsa_certificate=True, nonce=nonce
        )
        body = self._post(rfc3161ng.encode_timestamp_request(request))
        name = self.config.name
        try:
            token = token_from_response(body)
            verdict = verify_token(token, digest=digest, nonce=nonce, roots=self._roots, extra_certs=self._extra)
        except TokenError as e:
            raise TimestampError(f"TSA {name}: response failed the {e.code} check: {e.detail}") from e
        except UntrustedAnchor as e:
            raise TimestampError(f"TSA {name}: {e.detail}") from e
        # Untrusted by configuration, or by the token itself: a dev TSA run on its own (`promptstamp tsa
        # serve`) and configured like a real one still stamps its policy into every token.
        untrusted = self.config.untrusted or verdict.info.policy == DEV_TSA_POLICY
        return StampedToken(tsa=name, token=token, info=verdict.info, untrusted=untrusted, chain=verdict.chain)

    def _post(self, query: bytes) -> bytes:
        name, url, timeout = self.config.name, self.config.url, self.config.timeout
        headers = {"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"}
        try:
            # A fresh connection per call (no shared Session): safe from many threads at once.
            # No redirects: requests would turn a POST redirected by 301/302 into a GET.
            post = requests.post(url, data=query, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
            with post as resp:
                if resp.status_code != 200:
                    reason = resp.reason or ""
                    raise TimestampError(f"TSA {name}: expected HTTP 200 from {url}, found {resp.status_code} {reason}")
                body = b""
                for chunk in resp.iter_content(chunk_size=64 * 1024):
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise TimestampError(f"TSA {name}: response from {url} exceeds {MAX_RESPONSE_BYTES} bytes")
        except requests.Timeout as e:
            raise TimestampError(f"TSA {name}: no answer from {url} within {timeout:g} s") from e
        except requests.ConnectionError as e:
            raise TimestampError(f"TSA {name}: cannot connect to {url}: {_root_cause(e)}") from e
        except requests.RequestException as e:
            raise TimestampError(f"TSA {name}: request to {url} failed: {e}") from e
        if not body:
            raise TimestampError(f"TSA {name}: empty response from {url}")
        return body


def fetch_ocsp(url: str, request_der: bytes, timeout: float) -> bytes:
    """POST an OCSP request (RFC 6960 appendix A.1); the response bytes as the responder sent them."""
    headers = {"Content-Type": "application/ocsp-request", "Accept": "application/ocsp-response"}
    try:
        with requests.post(url, data=request_der, headers=headers, timeout=timeout, stream=True,
                           allow_redirects=False) as resp:
            if resp.status_code != 200:
                raise TimestampError(f"OCSP {url}: expected HTTP 200, found {resp.status_code} {resp.reason or ''}")
            body = b""
            for chunk in resp.iter_content(chunk_size=64 * 1024):
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise TimestampError(f"OCSP {url}: response exceeds {MAX_RESPONSE_BYTES} bytes")
    except requests.Timeout as e:
        raise TimestampError(f"OCSP {url}: no answer within {timeout:g} s") from e
    except requests.ConnectionError as e:
        raise TimestampError(f"OCSP {url}: cannot connect: {_root_cause(e)}") from e
    except requests.RequestException as e:
        raise TimestampError(f"OCSP {url}: request failed: {e}") from e
    return body


def _root_cause(e: BaseException) -> str:
    """The innermost cause's message ('[Errno 111] Connection refused'), not urllib3's nested reprs."""
    for _ in range(10):
        inner = e.__cause__ or e.__context__
        if inner is None:
            break
        e = inner
    return str(e)
