"""Choose the storage backend from the settings' storage URL.

``file://DIR`` opens an FsStore; ``s3://BUCKET[/PREFIX]`` an S3Store with the ``s3_*`` settings.
The s3 module (and boto3 with it) is imported only when an s3 URL is used, so the embedded default
starts without loading boto3.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from ..config import Settings
from ..errors import ConfigError
from . import ObjectStore
from .fs import FsStore


def _fs_path(url: str) -> Path:
    parsed = urlparse(url)
    # file:///abs/dir has no host; file://localhost/abs/dir is the same place. Any other "host" is
    # read as the start of a relative path (file://data/store), which people write by habit.
    if parsed.netloc in ("", "localhost"):
        path = parsed.path
    else:
        path = parsed.netloc + parsed.path
    if not path:
        raise ConfigError(f"storage URL must name a directory (file://DIR), found {url!r}")
    return Path(unquote(path))


def open_store(settings: Settings) -> ObjectStore:
    url = settings.resolved_storage_url
    scheme = urlparse(url).scheme
    if scheme == "file":
        return FsStore(_fs_path(url))
    if scheme == "s3":
        from .s3 import S3Store

        bucket, prefix = settings.s3_bucket_and_prefix
        if not bucket:
            raise ConfigError(f"storage URL must name a bucket (s3://BUCKET[/PREFIX]), found {url!r}")
        return S3Store(
            bucket,
            prefix=prefix,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            lock_days=settings.s3_lock_days,
        )
    raise ConfigError(f"storage URL must be file://DIR or s3://BUCKET[/PREFIX], found {url!r}")
