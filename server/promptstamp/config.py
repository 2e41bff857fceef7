"""Settings: one frozen value, built from the environment or given directly (tests).

Only ``Settings.from_env`` reads ``os.environ``. Every option has a ``PROMPTSTAMP_*`` variable;
the CLI's flags override them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigError
from .tsa_presets import PRESETS, pinned_root

_TSA_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_NAMED_TSA_RE = re.compile(r"^([a-z0-9][a-z0-9_-]{0,31})=(https?://.+)$")


@dataclass(frozen=True)
class TsaConfig:
    """One RFC 3161 TSA: where to ask, and which root(s) its tokens must chain to."""

    name: str
    url: str
    ca_file: Path | None = None
    timeout: float = 10.0
    untrusted: bool = False  # the built-in dev TSA: its root is ours, so it proves nothing to others

    def __post_init__(self) -> None:
        if not _TSA_NAME_RE.match(self.name):
            raise ConfigError(f"TSA name {self.name!r}: use lowercase letters, digits, '-' or '_'")
        if urlparse(self.url).scheme not in ("http", "https"):
            raise ConfigError(f"TSA {self.name}: URL must be http(s), found {self.url!r}")

    @classmethod
    def parse(cls, entry: str) -> TsaConfig:
        """A preset's name (``tsa_presets``: its URL and its pinned root), or ``[name=]URL[|CA_FILE]``
        where the name defaults to the URL's host name."""
        preset = PRESETS.get(entry)
        if preset is not None:
            return cls(name=preset.name, url=preset.url, ca_file=pinned_root(preset))
        if "://" not in entry:
            raise ConfigError(f"TSA {entry!r:.60}: neither a preset ({', '.join(sorted(PRESETS))}) "
                              "nor [name=]URL[|CA_FILE]")
        spec, _, ca = entry.partition("|")
        m = _NAMED_TSA_RE.match(spec)
        if m:
            name, url = m.group(1), m.group(2)
        else:
            url = spec
            host = urlparse(url).hostname or ""
            name = re.sub(r"[^a-z0-9_-]+", "-", host.lower()).strip("-")[:32] or "tsa"
        return cls(name=name, url=url, ca_file=Path(ca) if ca else None)


def _s3_parts(storage_url: str) -> tuple[str, str]:
    parsed = urlparse(storage_url)
    return parsed.netloc, parsed.path.strip("/")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    storage_url: str = ""  # empty: file://<data_dir>/store
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_lock_days: int = 0  # Object Lock retention for evidence; 0 = bucket default or none
    tsas: tuple[TsaConfig, ...] = ()
    key_file: Path | None = None  # default: <data_dir>/keys/service.key
    batch_window_ms: int = 200
    # A batch seals when its window ends or when it holds this many records. At 1,000 one TSA request is
    # shared enough (1 per 1,000 records) that waiting for the window only adds latency: under array posts a
    # full batch sealed at once ran 8,300 -> 11,900 records/s in make bench (fs, 2 CPUs). It is also the
    # largest post (max_records_per_post), so one post always fits one batch.
    batch_max: int = 1000
    max_body_bytes: int = 32 * 1024 * 1024
    max_records_per_post: int = 1000
    retry_interval_s: float = 5.0
    # Start-up and periodic recovery only finish batches older than this: a younger one may still be
    # sealing in another worker or instance (a seal normally ends within seconds; requests give up
    # after 120 s).
    recovery_grace_s: float = 120.0
    recovery_interval_s: float = 60.0
    # Archive time-stamps (``renewal``): renew once the earliest certificate expiry among what is not
    # renewed yet is this close; look this often (0: never in the service, only ``promptstamp renew``).
    renew_margin_days: float = 180.0
    renew_check_s: float = 6 * 3600.0
    host: str = "127.0.0.1"
    port: int = 8080
    verify_slots: int = 1  # uploads verified at once per web worker (each in its own bounded process)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_window_ms < 0:
            raise ConfigError(f"batch window must be >= 0 ms, found {self.batch_window_ms}")
        if self.batch_max < 1:
            raise ConfigError(f"batch size must be >= 1, found {self.batch_max}")
        if self.renew_margin_days < 0 or self.renew_check_s < 0:
            raise ConfigError(f"renewal margin and check interval must be >= 0, found {self.renew_margin_days} days "
                              f"and {self.renew_check_s} s")
        if self.verify_slots < 1:
            raise ConfigError(f"verify slots must be >= 1, found {self.verify_slots}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"body size limit must be >= 1024 bytes, found {self.max_body_bytes}")
        scheme = urlparse(self.resolved_storage_url).scheme
        if scheme not in ("file", "s3"):
            raise ConfigError(f"storage URL must be file://DIR or s3://BUCKET, found {self.storage_url!r}")
        names = [t.name for t in self.tsas]
        if len(set(names)) != len(names):
            raise ConfigError(f"TSA names must be unique, found {names}")

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'store').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "keys" / "service.key"

    @property
    def s3_bucket_and_prefix(self) -> tuple[str, str]:
        return _s3_parts(self.resolved_storage_url)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get("PROMPTSTAMP_" + name)
            return value if value not in (None, "") else None

        def number(name: str, kind: type[int] | type[float]) -> Any:
            raw = get(name)
            if raw is None:
                return None
            try:
                return kind(raw)
            except ValueError as e:
                raise ConfigError(f"PROMPTSTAMP_{name}: expected a number, found {raw!r}") from e

        tsa_env = get("TSA")
        tsas = tuple(TsaConfig.parse(e) for e in re.split(r"[\s,]+", tsa_env) if e) if tsa_env else None
        data_dir = get("DATA")
        key_file = get("KEY_FILE")
        return cls().with_overrides(
            data_dir=Path(data_dir) if data_dir else None,
            storage_url=get("STORAGE"),
            s3_endpoint=get("S3_ENDPOINT"),
            s3_region=get("S3_REGION"),
            s3_access_key=get("S3_ACCESS_KEY"),
            s3_secret_key=get("S3_SECRET_KEY"),
            s3_lock_days=number("S3_LOCK_DAYS", int),
            tsas=tsas,
            key_file=Path(key_file) if key_file else None,
            batch_window_ms=number("BATCH_WINDOW_MS", int),
            batch_max=number("BATCH_MAX", int),
            max_body_bytes=number("MAX_BODY_BYTES", int),
            retry_interval_s=number("RETRY_INTERVAL_S", float),
            recovery_grace_s=number("RECOVERY_GRACE_S", float),
            recovery_interval_s=number("RECOVERY_INTERVAL_S", float),
            renew_margin_days=number("RENEW_MARGIN_DAYS", float),
            renew_check_s=number("RENEW_CHECK_S", float),
            host=get("HOST"),
            port=number("PORT", int),
            verify_slots=number("VERIFY_SLOTS", int),
        )
