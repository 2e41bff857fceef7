"""The "s3" backend (AWS S3, SeaweedFS, MinIO, Ceph), and the only module that imports boto3.

Write-once, in order of strength:

1. **Conditional PUT** (``If-None-Match: *``): the server refuses with 412 when the key exists, so
   of two concurrent writers exactly one wins. AWS S3 and SeaweedFS 4.48 honour it. Whether the
   server does is found out at startup (see ``_probe_conditional_put``); where it does not, puts
   fall back to HEAD-then-PUT, which is racy, so describe() says so, and only bucket versioning
   keeps the loser's overwrite from destroying the first version.
2. **S3 Object Lock**: when ``lock_days > 0`` and the bucket has Object Lock, every object is put
   with ``ObjectLockMode=COMPLIANCE`` and a retain-until date ``lock_days`` ahead. That version
   then cannot be deleted, and its retention cannot be shortened, by anyone, root included. On
   SeaweedFS 4.48 this was checked against the real server (tests/integration): DeleteObject with
   the VersionId and PutObjectRetention to an earlier date both return 403 AccessDenied for the
   admin identity, also with ``x-amz-bypass-governance-retention``; GOVERNANCE retention, in
   contrast, yields to that header. COMPLIANCE is therefore the default; GOVERNANCE can be chosen
   for buckets that must stay cleanable in development.

What Object Lock does not do: a PUT without If-None-Match (from a client other than this one) is
accepted on a versioned bucket and becomes the newest version; the locked version stays intact and
readable by its version id, but ``get`` (which reads the newest version) would return the new
bytes. Evidence does not depend on that: records, receipts and tokens are checked against digests
and signatures when read and exported, so a substituted version fails verification.

SeaweedFS 4.48 differences seen in the tests: ListObjectsV2 walks directory by directory, so
"a/b" comes before "a-c" and "a.x" (S3 and the fs backend use byte order, which puts them first);
paging with StartAfter = the last key returned is still exact. Conditional PUTs that race on one
key are answered in steps of about a second while they contend (8 writers: up to ~3 s).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import AlreadyExists, ConfigError, ObjectMissing, StorageError
from . import check_key
from .s3_put import ObjectPutter, PutUnreachable

log = logging.getLogger(__name__)

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
_PROBE_KEY = ".promptstamp-write-once-probe"  # starts with '.', so no valid key can collide with it
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_TAKEN_CODES = {"PreconditionFailed", "412"}
_CONFLICT_RETRIES = 3  # AWS answers 409 ConditionalRequestConflict to racing conditional PUTs


@dataclass(frozen=True)
class BucketFeatures:
    """What the bucket offers, found out once at startup. ``None`` means it could not be found out."""

    versioning: str | None  # "Enabled", "Suspended", "Off"
    object_lock: bool | None
    default_retention: str | None  # e.g. "COMPLIANCE 30d", from the bucket's lock configuration
    conditional_put: bool


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _client(
    endpoint: str | None, region: str, access_key: str | None, secret_key: str | None, pool: int
) -> Any:
    config = Config(
        # Every put_many worker holds a connection; without this botocore caps the pool at 10 and
        # logs "Connection pool is full, discarding connection".
        max_pool_connections=pool,
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=60,
        # Custom endpoints (SeaweedFS, MinIO) rarely have per-bucket DNS names.
        s3={"addressing_style": "path" if endpoint else "auto"},
        # Every PUT carries Content-MD5 (``S3Store.put``), which S3 checks and Object Lock accepts. By
        # default botocore would add a CRC32 trailer, streaming the body as aws-chunked in Python:
        # most of a PUT's CPU time, and one PUT per session per batch is the single-post path's cost.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _SESSION_LOCK:
        return _session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )


_SESSION_LOCK = threading.Lock()


def _credentials(access_key: str | None, secret_key: str | None) -> Any:
    """What signs the store's PUTs: the keys given, else the default chain (environment, profile, role),
    whose refreshable credentials renew themselves."""
    if access_key and secret_key:
        return Credentials(access_key, secret_key)
    with _SESSION_LOCK:
        found = _session().get_credentials()
    if found is None:
        raise ConfigError("no S3 credentials: give an access key and secret, or configure AWS credentials")
    return found


@functools.cache
def _session() -> Any:
    # Clients are thread-safe, sessions are not, and every new session loads botocore's service
    # models again (60-160 ms here). One session, used under the lock, makes a client in ~5 ms.
    return boto3.session.Session()


def create_bucket(
    bucket: str,
    *,
    endpoint: str | None = None,
    region: str = "us-east-1",
    access_key: str | None = None,
    secret_key: str | None = None,
    object_lock: bool = True,
) -> None:
    """Create ``bucket``, by default with Object Lock (which also turns versioning on), for tests,
    development and infrastructure scripts. Raises AlreadyExists if the bucket exists."""
    client = _client(endpoint, region, access_key, secret_key, pool=2)
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if object_lock:
        kwargs["ObjectLockEnabledForBucket"] = True
    if region != "us-east-1":  # AWS rejects an explicit us-east-1 constraint and requires any other
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**kwargs)
    except ClientError as e:
        if _code(e) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise AlreadyExists(f"bucket {bucket!r} already exists; not re-created") from e
        raise StorageError(f"creating bucket {bucket!r}: {e}") from e
    except BotoCoreError as e:
        raise StorageError(f"creating bucket {bucket!r}: {e}") from e


class S3Store:
    """Write-once objects in an S3 bucket, optionally under a key prefix. Thread-safe."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        lock_days: int = 0,
        *,
        lock_mode: str = "COMPLIANCE",
        max_workers: int = 16,
        conditional_put: bool | None = None,
        list_page_size: int = 1000,
    ) -> None:
        """``conditional_put=None`` probes the server at startup; True/False skip the probe.
        ``list_page_size`` is the keys per ListObjectsV2 request (S3's maximum is 1000)."""
        if not bucket:
            raise ConfigError("S3 bucket name must not be empty, found ''")
        if lock_days < 0:
            raise ConfigError(f"Object Lock retention must be >= 0 days, found {lock_days}")
        if lock_mode not in LOCK_MODES:
            raise ConfigError(f"Object Lock mode must be one of {LOCK_MODES}, found {lock_mode!r}")
        if max_workers < 1:
            raise ConfigError(f"S3 worker count must be >= 1, found {max_workers}")
        if not 1 <= list_page_size <= 1000:
            raise ConfigError(f"S3 list page size must be 1..1000, found {list_page_size}")
        prefix = prefix.strip("/")
        if prefix:
            try:
                check_key(prefix)
            except StorageError as e:
                raise ConfigError(f"S3 key prefix {prefix!r}: {e.detail}") from e
        self.bucket = bucket
        self.prefix = prefix + "/" if prefix else ""
        self.endpoint = endpoint
        self.lock_days = lock_days
        self.lock_mode = lock_mode
        self.request_counts: dict[str, int] = {"put": 0, "get": 0, "head": 0, "list": 0}
        self._lock = threading.Lock()
        self._max_workers = max_workers
        self._page_size = list_page_size
        self._pool: ThreadPoolExecutor | None = None
        # Room for every put_many worker plus callers on other threads.
        self._client = _client(endpoint, region, access_key, secret_key, pool=max_workers + 8)
        self.features = self._probe(conditional_put)
        try:  # after the probe: a missing bucket or unreachable server is reported by it, in its words
            self._putter = ObjectPutter(self._client, bucket, _credentials(access_key, secret_key),
                                        pool=max_workers + 8)
        except BotoCoreError as e:
            raise StorageError(f"{self._where}: preparing signed PUTs: {e}") from e
        if lock_days and self.features.object_lock is False:
            # Not fatal (the bucket may be protected otherwise), but it must not pass unnoticed.
            log.warning("%s: lock_days=%d requested but the bucket has no Object Lock", self._where, lock_days)

    # -- startup ---------------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")

    def _probe(self, conditional_put: bool | None) -> BucketFeatures:
        versioning: str | None
        try:
            versioning = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status") or "Off"
        except ClientError as e:
            if _code(e) == "NoSuchBucket":
                raise StorageError(f"bucket {self.bucket!r} does not exist at {self.endpoint or 'AWS'}") from e
            if _status(e) not in (403, 501):
                raise StorageError(f"{self._where}: reading versioning: {e}") from e
            versioning = None  # not allowed to look, or not implemented by this server
        except BotoCoreError as e:
            raise StorageError(f"{self._where}: cannot reach S3: {e}") from e

        object_lock: bool | None
        default_retention = None
        try:
            config = self._client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            object_lock = config.get("ObjectLockEnabled") == "Enabled"
            rule = config.get("Rule", {}).get("DefaultRetention")
            if rule:
                period = f"{rule['Days']}d" if "Days" in rule else f"{rule.get('Years')}y"
                default_retention = f"{rule.get('Mode')} {period}"
        except ClientError as e:
            if _code(e) == "ObjectLockConfigurationNotFoundError":
                object_lock = False
            elif _status(e) in (403, 501):
                object_lock = None
            else:
                raise StorageError(f"{self._where}: reading the Object Lock configuration: {e}") from e
        except BotoCoreError as e:
            raise StorageError(f"{self._where}: cannot reach S3: {e}") from e

        if conditional_put is None:
            conditional_put = self._probe_conditional_put()
        return BucketFeatures(versioning, object_lock, default_retention, conditional_put)

    def _probe_conditional_put(self) -> bool:
        """Does the server refuse an If-None-Match PUT onto an existing key? Costs one or two tiny
        PUTs to a fixed key under the prefix (left in place: with Object Lock it may not be deletable)."""
        key = self.prefix + _PROBE_KEY
        body = b"write-once probe\n"
        for _ in range(2):
            try:
                self._client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*",
                                        ContentMD5=base64.b64encode(hashlib.md5(body, usedforsecurity=False)
                                                                    .digest()).decode())
            except ClientError as e:
                if _code(e) in _TAKEN_CODES or _status(e) == 412:
                    return True
                if _status(e) == 501:
                    return False
                raise StorageError(f"{self._where}: probing conditional PUT: {e}") from e
            except BotoCoreError as e:
                raise StorageError(f"{self._where}: probing conditional PUT: {e}") from e
        return False  # two unconditional successes: the header was ignored

    # -- helpers ---------------------------------------------------------------------------------

    def _count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.request_counts[kind] = self.request_counts.get(kind, 0) + n

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _raise(self, action: str, key: str, e: Exception) -> NoReturn:
        raise StorageError(f"{action} {key!r:.120} in {self._where}: {e}") from e

    def _lock_headers(self) -> dict[str, str]:
        # Unknown (not permitted to read the configuration, common for a least-privilege role):
        # send the retention anyway; a bucket without Object Lock then refuses the PUT loudly.
        if not self.lock_days or self.features.object_lock is False:
            return {}
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.lock_days)
        return {"x-amz-object-lock-mode": self.lock_mode,
                "x-amz-object-lock-retain-until-date": until.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _is_own_retry(self, full_key: str, data: bytes) -> bool:
        """A 412 after a retry may answer our own first attempt, which did land (the reply was lost).
        Then the stored object has our bytes: its ETag is their MD5 (single-part PUT)."""
        self._count("head")
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=full_key)
        except (ClientError, BotoCoreError):
            return False
        return bool(head.get("ETag", "").strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest())

    # -- ObjectStore -----------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        full_key = self._key(key)
        # Content-MD5 lets the server reject a corrupted body (and is what Object Lock asks of a PUT).
        headers = {"Content-MD5": base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
                   **self._lock_headers()}
        if self.features.conditional_put:
            headers["If-None-Match"] = "*"
        elif self.exists(key):  # the racy part of a store without conditional PUT
            raise AlreadyExists(f"object {key!r:.120} already exists in {self._where}; not overwritten")
        for attempt in range(_CONFLICT_RETRIES):
            try:
                reply = self._putter.put(full_key, data, headers)
            except PutUnreachable as e:
                self._count("put", self._putter.max_attempts)
                self._raise("writing", key, e)
            self._count("put", reply.attempts)
            if reply.ok:
                return
            if reply.code in _TAKEN_CODES or reply.status == 412:
                if reply.attempts > 1 and self._is_own_retry(full_key, data):
                    return
                raise AlreadyExists(f"object {key!r:.120} already exists in {self._where}; not overwritten")
            if reply.code == "ConditionalRequestConflict" and attempt + 1 < _CONFLICT_RETRIES:
                continue  # another conditional write was in flight; asking again gets a clear answer
            raise StorageError(f"writing {key!r:.120} in {self._where}: {reply.code or reply.status}: {reply.message}")

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> set[str]:
        """PUT all items on a thread pool; every key is checked before anything is written."""
        for key, _ in items:
            self._key(key)
        if not items:
            return set()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="s3-put")
            pool = self._pool

        def one(item: tuple[str, bytes]) -> str | StorageError | None:
            try:
                self.put(*item)
            except AlreadyExists:
                return item[0]
            except StorageError as e:
                return e
            return None

        taken: set[str] = set()
        errors: list[StorageError] = []
        for result in pool.map(one, items):
            if isinstance(result, StorageError):
                errors.append(result)
            elif result is not None:
                taken.add(result)
        if errors:
            raise errors[0]
        return taken

    def get(self, key: str) -> bytes:
        return self._read(key, {})

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise StorageError(f"object {key!r:.120}: a range needs a start and length >= 0, found {start}, {length}")
        if length == 0:
            return b""
        return self._read(key, {"Range": f"bytes={start}-{start + length - 1}"})

    def _read(self, key: str, extra: dict[str, Any]) -> bytes:
        full_key = self._key(key)
        self._count("get")
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=full_key, **extra)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()
        except ClientError as e:
            if _code(e) in _MISSING_CODES:
                raise ObjectMissing(f"object {key!r:.120} not found in {self._where}") from None
            if _code(e) == "InvalidRange":  # the range starts at or past the end: nothing there
                return b""
            self._raise("reading", key, e)
        except BotoCoreError as e:
            self._raise("reading", key, e)

    def exists(self, key: str) -> bool:
        full_key = self._key(key)
        self._count("head")
        try:
            self._client.head_object(Bucket=self.bucket, Key=full_key)
            return True
        except ClientError as e:
            if _code(e) in _MISSING_CODES or _status(e) == 404:
                return False
            self._raise("checking", key, e)
        except BotoCoreError as e:
            self._raise("checking", key, e)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in the server's order (byte order on S3, directory order on
        SeaweedFS, see above), one ListObjectsV2 request per page (``list_page_size`` keys)."""
        if prefix:  # checked now, not on the first next(): a bad prefix is the caller's bug
            self._key(prefix[:-1] if prefix.endswith("/") else prefix)
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix + prefix,
            "PaginationConfig": {"PageSize": self._page_size},
        }
        if start_after is not None:
            args["StartAfter"] = self.prefix + start_after
        return self._pages(prefix, args)

    def _pages(self, prefix: str, args: dict[str, Any]) -> Iterator[str]:
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(**args):
                self._count("list")
                for obj in page.get("Contents", ()):
                    key = obj["Key"][len(self.prefix) :]
                    try:
                        self._key(key)
                    except StorageError:
                        continue  # the write-once probe, or objects some other tool put here
                    yield key
        except ClientError as e:
            raise StorageError(f"listing {prefix!r:.120} in {self._where}: {e}") from e
        except BotoCoreError as e:
            raise StorageError(f"listing {prefix!r:.120} in {self._where}: {e}") from e

    def describe(self) -> str:
        f = self.features
        if f.conditional_put:
            write_once = "conditional PUT (If-None-Match)"
        else:
            write_once = "HEAD-then-PUT (server ignores If-None-Match; racy)"
        if f.object_lock is None:
            lock = "unknown (not permitted to read the bucket's configuration)"
            if self.lock_days:
                lock = f"{self.lock_mode} {self.lock_days}d per object requested; bucket support " + lock
        elif not f.object_lock:
            lock = "off"
            if self.lock_days:
                lock += f" (lock_days={self.lock_days} requested, bucket has no Object Lock)"
        elif self.lock_days:
            lock = f"{self.lock_mode} {self.lock_days}d per object"
        elif f.default_retention:
            lock = f"bucket default {f.default_retention}"
        else:
            lock = "enabled on the bucket, but no retention set (lock_days=0, no bucket default)"
        return (
            f"s3 {self._where}; write-once: {write_once}; versioning: {f.versioning or 'unknown'}; "
            f"object lock: {lock}"
        )

    def close(self) -> None:
        """Stop the put_many workers; the store must not be used afterwards."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._putter.close()
