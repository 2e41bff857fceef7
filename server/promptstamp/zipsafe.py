"""Reading ZIP containers that nobody vouches for, within hard limits.

An evidence bundle arrives from anyone (a lawyer, a counterparty, the public verify page), so the
reader assumes it is hostile: entry names that escape a directory (``../``, absolute paths, drive
letters, backslashes), duplicate names, encrypted or exotically compressed entries, and ZIP bombs
(too many entries, entries or totals too large, compression ratios no real file reaches). Sizes
are enforced while inflating, not taken from the headers. Every problem raises ``ContainerError``
naming the entry; nothing is ever written to disk.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import VerificationError

CHUNK = 1 << 16
# PKZIP APPNOTE 4.3.7: local file header (signature, version, flags, method, time, date, CRC,
# compressed size, uncompressed size, name length, extra length).
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
# What the standard library raises for a damaged or exotic archive. NotImplementedError is its word for
# a feature it cannot read (a compression method, strong encryption); for us that is "unreadable".
_UNREADABLE: tuple[type[Exception], ...] = (
    zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError, NotImplementedError)
# Reading the central directory can also fail on ZIP64 limits, undecodable names and short records.
_UNREADABLE_INDEX: tuple[type[Exception], ...] = (*_UNREADABLE, zipfile.LargeZipFile, UnicodeDecodeError, IndexError)


class ContainerError(VerificationError):
    """The ZIP container itself is unreadable, unsafe or over a limit."""

    code = "invalid_container"


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 200_000
    max_entry_bytes: int = 1 << 30  # 1 GiB: one original image or video
    max_total_bytes: int = 8 << 30  # 8 GiB uncompressed in all
    max_ratio: int = 200  # deflate tops out near 1032:1; real JSON and images stay far below 200
    ratio_floor: int = 1 << 20  # entries smaller than 1 MiB are not ratio-checked (tiny files compress well)
    max_name_chars: int = 255


DEFAULT_LIMITS = ZipLimits()
_BAD_SEGMENTS = frozenset(("", ".", ".."))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_entry_name(name: str, limits: ZipLimits = DEFAULT_LIMITS) -> None:
    """Raise unless ``name`` is a plain relative path that stays inside the container."""
    if not name or len(name) > limits.max_name_chars:
        raise ContainerError(f"entry name of {len(name)} characters: expected 1 to {limits.max_name_chars}")
    if "\x00" in name or "\\" in name:
        raise ContainerError(f"entry {name!r}: NUL or backslash in a name is not allowed")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ContainerError(f"entry {name!r}: absolute paths are not allowed")
    if not _BAD_SEGMENTS.isdisjoint(name.rstrip("/").split("/")):
        raise ContainerError(f"entry {name!r}: empty, '.' or '..' path segments are not allowed")
    if _CONTROL.search(name):
        raise ContainerError(f"entry {name!r}: control characters in a name are not allowed")


class SafeZip:
    """A ZIP opened for reading under ``ZipLimits``. Directory entries are ignored."""

    def __init__(self, source: BinaryIO, limits: ZipLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        # The whole archive, when it is already in memory: stored entries are then sliced out directly.
        self._buffer = source.getbuffer() if isinstance(source, io.BytesIO) else None
        try:
            self._zip = zipfile.ZipFile(source, "r")
            infos = self._zip.infolist()
        except _UNREADABLE_INDEX as e:
            raise ContainerError(f"not a readable ZIP container: {e}") from e
        if len(infos) > limits.max_entries:
            raise ContainerError(f"{len(infos)} entries: expected at most {limits.max_entries}")
        self.entries: dict[str, zipfile.ZipInfo] = {}
        self.order: list[str] = []
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            check_entry_name(name, limits)
            if name in seen:
                raise ContainerError(f"entry {name!r} appears twice: a reader could see either copy")
            seen.add(name)
            self.order.append(name)
            if name.endswith("/"):
                continue
            if info.flag_bits & 0x1:
                raise ContainerError(f"entry {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ContainerError(f"entry {name!r}: compression method {info.compress_type}, "
                                     "expected stored (0) or deflate (8)")
            if info.file_size > limits.max_entry_bytes:
                raise ContainerError(f"entry {name!r} is {info.file_size} bytes: limit {limits.max_entry_bytes}")
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ContainerError(f"entry {name!r} inflates {info.compress_size} to {info.file_size} bytes: "
                                     f"ratio above {limits.max_ratio}:1 (ZIP bomb)")
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ContainerError(f"entries add up to more than {limits.max_total_bytes} bytes")
            self.entries[name] = info
        # Directory entries that shadow a file ("a" and "a/") would let two readers disagree.
        for name in self.entries:
            if name + "/" in seen:
                raise ContainerError(f"entry {name!r} is both a file and a directory")

    def names(self) -> list[str]:
        return list(self.entries)

    def first_entry(self) -> zipfile.ZipInfo | None:
        infos = self._zip.infolist()
        return infos[0] if infos else None

    def chunks(self, name: str, *, max_bytes: int | None = None) -> Iterator[bytes]:
        """The entry's bytes, inflated chunk by chunk, never more than its declared size (CRC checked)."""
        info = self.entries.get(name)
        if info is None:
            raise ContainerError(f"{name}: missing from the container")
        limit = info.file_size if max_bytes is None else min(info.file_size, max_bytes)
        if max_bytes is not None and info.file_size > max_bytes:
            raise ContainerError(f"{name} is {info.file_size} bytes: expected at most {max_bytes}")
        seen = 0
        try:
            with self._zip.open(info) as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    seen += len(chunk)
                    if seen > limit:
                        raise ContainerError(f"{name} inflates past its declared {info.file_size} bytes")
                    yield chunk
        except ContainerError:
            raise
        except _UNREADABLE as e:
            raise ContainerError(f"{name}: cannot be read from the container: {e}") from e
        if seen != info.file_size:
            raise ContainerError(f"{name}: {seen} bytes read, header says {info.file_size}")

    def read(self, name: str, *, max_bytes: int) -> bytes:
        """A whole (small) entry; zipfile stops at the declared size and checks the CRC."""
        info = self.entries.get(name)
        if info is None:
            raise ContainerError(f"{name}: missing from the container")
        if info.file_size > max_bytes:
            raise ContainerError(f"{name} is {info.file_size} bytes: expected at most {max_bytes}")
        if self._buffer is not None and info.compress_type == zipfile.ZIP_STORED:
            return self._stored(info)
        try:
            data = self._zip.read(info)
        except _UNREADABLE as e:
            raise ContainerError(f"{name}: cannot be read from the container: {e}") from e
        if len(data) != info.file_size:
            raise ContainerError(f"{name}: {len(data)} bytes read, header says {info.file_size}")
        return data

    def _stored(self, info: zipfile.ZipInfo) -> bytes:
        """A stored entry sliced from the in-memory archive, checked as zipfile checks it: local header
        signature, the same name as the central directory, no extra flags, the size, and the CRC-32.
        About ten times cheaper than zipfile's open/read for the thousands of small files a bundle has."""
        buf = self._buffer
        offset = info.header_offset
        if buf is None or offset < 0 or offset + _LOCAL_HEADER.size > len(buf):
            raise ContainerError(f"{info.filename}: local header outside the archive")
        (signature, _version, flags, method, _time, _date, _crc, _csize, _usize, name_len,
         extra_len) = _LOCAL_HEADER.unpack_from(buf, offset)
        if signature != b"PK\x03\x04" or method != zipfile.ZIP_STORED or flags & ~0x808:
            raise ContainerError(f"{info.filename}: local header does not match the central directory")
        name_start = offset + _LOCAL_HEADER.size
        raw_name = bytes(buf[name_start:name_start + name_len])
        local_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if local_name != info.orig_filename:
            raise ContainerError(f"{info.filename}: local header names {local_name!r}")
        start = name_start + name_len + extra_len
        end = start + info.compress_size
        if info.compress_size != info.file_size or end > len(buf):
            raise ContainerError(f"{info.filename}: stored entry runs past the archive or its sizes differ")
        data = bytes(buf[start:end])
        if zlib.crc32(data) != info.CRC:
            raise ContainerError(f"{info.filename}: CRC-32 does not match (damaged or altered)")
        return data

    def sha256(self, name: str) -> bytes:
        h = hashlib.sha256()
        for chunk in self.chunks(name):
            h.update(chunk)
        return h.digest()

    def close(self) -> None:
        if self._buffer is not None:
            self._buffer.release()  # lets the caller's BytesIO change size again
            self._buffer = None
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
