"""Hard limits for verifying evidence that strangers upload, checked before any real work starts.

``promptstamp verify`` on your own machine has only the ZIP safety limits of ``zipsafe``; a server
that verifies uploads must also bound what one request can cost. ``precheck`` reads the ZIP's
end-of-central-directory record (22 bytes, before any index is parsed) and then the central
directory's declared sizes and names, and raises ``TooLarge`` (HTTP 413: the upload or what it
expands to is too big) or ``LimitExceeded`` (HTTP 422: too many batches or tokens to verify), each
naming the limit. Declared sizes are binding: the reader never inflates an entry past its declared
size (``zipsafe.SafeZip``), so the sums checked here bound the memory and work that follow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from . import bundle_names as names
from .bundle_reader import classify
from .errors import LimitExceeded, TooLarge
from .zipsafe import ContainerError, SafeZip, ZipLimits

# PKZIP APPNOTE 4.3.16: end of central directory record; 4.3.15: the ZIP64 locator before it.
_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_MAX_COMMENT = 0xFFFF


@dataclass(frozen=True)
class UploadLimits:
    """What one verification of an uploaded bundle may cost (README: "Verifying over HTTP")."""

    upload_bytes: int = 64 << 20  # the bundle as uploaded
    entries: int = 20_000  # files in the ZIP
    expanded_bytes: int = 256 << 20  # all entries inflated
    held_bytes: int = 64 << 20  # records, receipts, tokens, keys: the files kept in memory while checking
    # Every batch costs a token check, and the reports re-rendered for the derived-files check walk every
    # batch: past these, verify on your own machine (promptstamp verify) or in the browser (/verify).
    batches: int = 1_000  # batch.json files
    tokens: int = 3_000  # time-stamp tokens (*.tst; up to three TSAs per batch), each distinct one verified once
    cpu_seconds: int = 60  # CPU time of the verifying process
    memory_bytes: int = 1 << 30  # address space of the verifying process

    def zip_limits(self) -> ZipLimits:
        # Ratios are checked from 64 KiB up (the reader's default is 1 MiB): small JSON stays far below 200:1.
        return ZipLimits(max_entries=self.entries, max_entry_bytes=self.expanded_bytes,
                         max_total_bytes=self.expanded_bytes, ratio_floor=64 << 10)


DEFAULT_UPLOAD_LIMITS = UploadLimits()


def declared_entries(source: BinaryIO) -> int:
    """The entry count the end-of-central-directory record declares (ZIP64: the 64-bit count)."""
    source.seek(0, 2)
    size = source.tell()
    tail_len = min(size, _EOCD.size + _MAX_COMMENT + 20)
    source.seek(size - tail_len)
    tail = source.read(tail_len)
    at = tail.rfind(_EOCD_SIG)
    if at < 0 or at + _EOCD.size > len(tail):
        raise ContainerError("not a readable ZIP container: no end-of-central-directory record")
    count = _EOCD.unpack_from(tail, at)[4]
    if at >= 20 and tail[at - 20:at - 16] == _ZIP64_LOCATOR_SIG:
        # The ZIP64 record holds the real count; 0xFFFF here means "see there". Read it the same way.
        (offset,) = struct.unpack_from("<Q", tail, at - 12)
        source.seek(offset)
        record = source.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            (count,) = struct.unpack_from("<Q", record, 32)
    source.seek(0)
    return int(count)


def precheck(source: BinaryIO, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) -> None:
    """Raise ``TooLarge`` or ``LimitExceeded`` when verifying this bundle would pass a limit."""
    count = declared_entries(source)
    if count > limits.entries:
        raise TooLarge(f"the bundle has {count} entries: the limit is {limits.entries} entries per bundle")
    z = SafeZip(source, ZipLimits(max_entries=limits.entries, max_entry_bytes=1 << 62, max_total_bytes=1 << 62,
                                  max_ratio=1 << 62))
    try:
        expanded = held = batches = tokens = 0
        for name, info in z.entries.items():
            expanded += info.file_size
            entry = classify(name)
            if entry is not None and entry.kind != "blob":
                held += info.file_size
            if entry is not None and entry.kind == "batch":
                batches += 1
            if (entry is not None and entry.kind == "token") or name in (names.MANIFEST_TOKEN, names.SUMS_TOKEN):
                tokens += 1
    finally:
        z.close()
        source.seek(0)
    if expanded > limits.expanded_bytes:
        raise TooLarge(f"the bundle expands to {expanded} bytes: the limit is {limits.expanded_bytes} bytes "
                       "expanded per bundle")
    if held > limits.held_bytes:
        raise TooLarge(f"the bundle's records, receipts, tokens and keys add up to {held} bytes: the limit is "
                       f"{limits.held_bytes} bytes")
    if batches > limits.batches:
        raise LimitExceeded(f"the bundle has {batches} batches: the limit is {limits.batches} batches per bundle")
    if tokens > limits.tokens:
        raise LimitExceeded(f"the bundle has {tokens} time-stamp tokens: the limit is {limits.tokens} tokens "
                            "per bundle")
