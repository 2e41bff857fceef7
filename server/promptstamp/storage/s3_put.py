"""S3 PUTs without the botocore client's per-call machinery: the store's write path.

Why: a client call runs its event hooks, the endpoint ruleset, parameter validation and the reply parser,
about 1.4 ms of CPU for a 300-byte object. A sealed batch writes one index segment per session it touches,
so on the single-post path that was most of a batch's CPU, on a machine the object store may share. Here
the same request is signed with botocore's own S3 SigV4 signer and sent on a urllib3 pool (the
environment's proxy and AWS_CA_BUNDLE honoured as the client honours them), at about half the CPU.
botocore's own ``URLLib3Session`` is not used: it sends a small PUT's headers and body in two writes,
and the server's delayed ACK then holds every request about 40 ms. Reads, listings, HEADs and the
start-up probes keep the client: they are rare or answered from caches.

The request is the one the client would send: the URL comes from the client's own endpoint resolution
(virtual-hosted or path style), with Content-MD5, If-None-Match and the Object Lock headers the caller
gives. Failures are retried as the client's "standard" retry mode does (connection errors, 5xx,
throttling and timeout codes; 4 attempts; exponential backoff with full jitter, capped at 20 s), and the
reply says how many attempts it took, so a 412 after a retry can be recognised as our own first attempt.
"""

from __future__ import annotations

import os
import random
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.utils import get_environ_proxies
from urllib3 import PoolManager, ProxyManager, Timeout
from urllib3.exceptions import HTTPError

# The client's "standard" retry mode (botocore/retries/standard.py): what is worth asking again.
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_RETRY_CODES = frozenset({
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "EC2ThrottledException",
})
_MAX_BACKOFF_S = 20.0
_ERROR_FIELD = {name: re.compile(rf"<{name}>([^<]*)</{name}>".encode()) for name in ("Code", "Message")}
_URL_PROBE_KEY = "promptstamp-url-probe"


@dataclass(frozen=True)
class PutReply:
    """What the server said to the last attempt: HTTP status, S3 error code and message ("" on success)."""

    status: int
    code: str
    message: str
    attempts: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PutUnreachable(Exception):
    """Every attempt failed before the server answered (connection refused, reset, timed out)."""


class ObjectPutter:
    """Signed single-object PUTs into one bucket. Thread-safe: share one per store."""

    def __init__(self, client: Any, bucket: str, credentials: Any, *, pool: int,
                 max_attempts: int = 4, connect_timeout: float = 5, read_timeout: float = 60) -> None:
        """``client`` is the store's boto3 client: its endpoint resolution gives the bucket's URL and its
        region signs. ``credentials`` are botocore credentials; refreshable ones are frozen per request."""
        self._bucket_url = _bucket_url(client, bucket)
        self._region = client.meta.region_name
        self._credentials = credentials
        self.max_attempts = max_attempts
        options: dict[str, Any] = {"maxsize": pool, "block": False, "retries": False,
                                   "timeout": Timeout(connect=connect_timeout, read=read_timeout)}
        if os.environ.get("AWS_CA_BUNDLE"):
            options["ca_certs"] = os.environ["AWS_CA_BUNDLE"]
        proxy = get_environ_proxies(self._bucket_url).get(urllib.parse.urlsplit(self._bucket_url).scheme)
        self._http = ProxyManager(proxy, **options) if proxy else PoolManager(**options)

    def put(self, full_key: str, data: bytes, headers: Mapping[str, str]) -> PutReply:
        """PUT ``data`` at ``full_key`` (already checked by the store) with ``headers``; retry what is worth
        retrying. Raises PutUnreachable when no attempt got an answer."""
        url = self._bucket_url + urllib.parse.quote(full_key, safe="/~")
        failure: HTTPError | None = None
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                time.sleep(min(random.random() * 2 ** (attempt - 1), _MAX_BACKOFF_S))
            request = AWSRequest("PUT", url, data=data, headers=dict(headers))
            S3SigV4Auth(self._credentials.get_frozen_credentials(), "s3", self._region).add_auth(request)
            prepared = request.prepare()
            try:
                response = self._http.request("PUT", url, body=data, headers=dict(prepared.headers.items()))
            except HTTPError as e:  # connection-level: the request may or may not have landed
                failure = e
                continue
            reply = _reply(response.status, response.data, attempt)
            if reply.ok or attempt == self.max_attempts or not _retryable(reply):
                return reply
        raise PutUnreachable(f"no answer after {self.max_attempts} attempts: {failure}")

    def close(self) -> None:
        self._http.clear()


def _bucket_url(client: Any, bucket: str) -> str:
    """The bucket's base URL as the client resolves it (virtual-hosted on AWS, path style on a custom
    endpoint): read from a presigned URL, which the client builds offline."""
    signed: str = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": _URL_PROBE_KEY},
                                           ExpiresIn=60)
    base = signed.split("?", 1)[0]
    if not base.endswith("/" + _URL_PROBE_KEY):
        raise ValueError(f"cannot find the object URL pattern in {base!r}")
    return base[: -len(_URL_PROBE_KEY)]


def _reply(status: int, body: bytes, attempts: int) -> PutReply:
    if 200 <= status < 300:
        return PutReply(status, "", "", attempts)
    code, message = (m.group(1).decode("utf-8", "replace") if (m := _ERROR_FIELD[f].search(body)) else ""
                     for f in ("Code", "Message"))
    return PutReply(status, code, message or f"HTTP {status}", attempts)


def _retryable(reply: PutReply) -> bool:
    return reply.status in _RETRY_STATUS or reply.status == 429 or reply.code in _RETRY_CODES
