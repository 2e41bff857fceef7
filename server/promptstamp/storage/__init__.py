"""The object-store interface: write-once keys holding bytes.

Evidence is never overwritten: ``put`` raises ``AlreadyExists`` when the key holds an object, and
no delete exists in the interface. Keys are '/'-separated paths of [A-Za-z0-9._-] segments;
backends reject anything else (no '..', no absolute paths, no empty segments).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from ..errors import StorageError

_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._=-]{0,199}")
MAX_KEY_LENGTH = 900


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise StorageError saying why."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise StorageError(f"object key must be 1..{MAX_KEY_LENGTH} characters, found {key!r:.80}")
    for segment in key.split("/"):
        if not _SEGMENT_RE.fullmatch(segment) or segment in (".", ".."):
            raise StorageError(f"object key {key!r:.120} has an unsafe segment {segment!r:.60}")
    return key


class ObjectStore(Protocol):
    """What the ledger needs from storage. Implementations must be safe to share between threads."""

    #: Counts of backend requests by kind ("put", "get", "head", "list"), for ``make bench``.
    request_counts: dict[str, int]

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` durably, once. Raise AlreadyExists if the key is taken."""
        ...

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> set[str]:
        """Store several objects (possibly in parallel); return the keys that were already taken."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raise ObjectMissing if there are none."""
        ...

    def get_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of the object from byte ``start`` (fewer only where the object ends);
        raise ObjectMissing if there is no object. Counted as a "get"."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in lexicographic order, optionally only those after ``start_after``."""
        ...

    def describe(self) -> str:
        """One line for logs and ``/healthz``: backend, location, write-once mechanism, lock status."""
        ...
