"""Reading an evidence bundle someone hands us: container, file names, digests, manifest, SHA256SUMS.

Nothing here decides whether the evidence holds (that is the ``verify`` package); this module turns a hostile
ZIP into named, size-limited, hashed files, or raises ``ContainerError`` saying what is wrong.
Every file is hashed exactly once, here; the checks reuse the digests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from . import bundle_names as names
from .zipsafe import DEFAULT_LIMITS, ContainerError, SafeZip, ZipLimits

MAX_SMALL_FILE = 16 << 20  # records (up to 1 M characters of text), receipts, tokens, PEM, manifest
_DIGEST_VALUE_RE = re.compile(r"^[A-Za-z0-9+/]{43}=$")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # 'record' | 'receipt' | 'blob' | 'batch' | 'token' | 'chain' | 'key' | 'fixed'
    groups: tuple[str, ...]  # what the name encodes (record id, blob hex, batch id + tsa, key id)


@dataclass
class BundleFiles:
    """The container's files: kind, SHA-256 and (for everything but blobs) the bytes."""

    entries: dict[str, Entry] = field(default_factory=dict)
    digests: dict[str, bytes] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == kind]


def classify(name: str) -> Entry | None:
    if name in names.FIXED_NAMES:
        return Entry(name, "fixed", ())
    for kind, pattern in names.NAME_PATTERNS:
        m = pattern.match(name)
        if m:
            return Entry(name, kind, tuple(m.groups()))
    return None


def check_mimetype_entry(z: SafeZip) -> None:
    """ASiC (EN 319 162-1 §A.1): ``mimetype`` is the first entry, stored, without an extra field."""
    first = z.first_entry()
    if first is None:
        raise ContainerError("the container is empty: expected a first entry 'mimetype'")
    if first.filename != "mimetype":
        raise ContainerError(f"expected the first entry to be 'mimetype', found {first.filename!r}")
    if first.compress_type != 0:
        raise ContainerError(f"expected 'mimetype' stored (method 0), found compression method {first.compress_type}")
    if first.extra:
        raise ContainerError(f"expected 'mimetype' without an extra field, found {len(first.extra)} extra bytes")
    value = z.read("mimetype", max_bytes=256)
    if value != names.MIMETYPE.encode("ascii"):
        raise ContainerError(f"expected mimetype {names.MIMETYPE!r}, found {value[:80]!r}")


def read_bundle(source: BinaryIO, limits: ZipLimits = DEFAULT_LIMITS) -> BundleFiles:
    """Open, check the container rules and hash every file (blobs streamed).

    Sequential on purpose: measured, forked readers gained nothing (the archive index and the
    transfer of the bytes back cost what the parallel inflating saves).
    """
    with SafeZip(source, limits) as z:
        return read_files(z)


def read_files(z: SafeZip) -> BundleFiles:
    """``read_bundle`` on a container already open (whose blobs the caller reads again later)."""
    check_mimetype_entry(z)
    files = BundleFiles()
    for name in z.names():
        files.sizes[name] = z.entries[name].file_size
        entry = classify(name)
        if entry is None or entry.kind == "blob":
            files.digests[name] = z.sha256(name)
        else:
            data = z.read(name, max_bytes=MAX_SMALL_FILE)
            files.digests[name] = hashlib.sha256(data).digest()
            files.data[name] = data
        if entry is None:
            files.unknown.append(name)
        else:
            files.entries[name] = entry
    return files


def parse_sums(data: bytes) -> list[tuple[str, bytes]]:
    """``SHA256SUMS`` lines ``<hex> *<name>`` (or two spaces); raise on anything else."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        raise ContainerError(f"SHA256SUMS: expected ASCII text, found a non-ASCII byte at {e.start}") from e
    if text and not text.endswith("\n"):
        raise ContainerError("SHA256SUMS: expected a newline at the end of the last line")
    out: list[tuple[str, bytes]] = []
    for n, line in enumerate(text.splitlines(), 1):
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](\S+)", line)
        if not m:
            raise ContainerError(f"SHA256SUMS line {n}: expected '<64 hex> *<name>', found {line[:100]!r}")
        out.append((m.group(2), bytes.fromhex(m.group(1))))
    return out


def parse_manifest(data: bytes) -> list[tuple[str, bytes]]:
    """The (URI, SHA-256) pairs of an ASiC manifest in the exact form ``names.manifest_xml`` writes.

    Parsed by re-rendering, not with an XML parser: the bytes must be exactly what we would write for
    the entries found, so no entity, comment, namespace trick or second reference can hide anything.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ContainerError(f"{names.MANIFEST}: expected UTF-8, found a bad byte at {e.start}") from e
    pairs: list[tuple[str, bytes]] = []
    for m in re.finditer(
        r'<asic:DataObjectReference URI="([^"<>&]*)">\n<ds:DigestMethod Algorithm="[^"]*"/>\n'
        r"<ds:DigestValue>([^<]*)</ds:DigestValue>\n",
        text,
    ):
        value = m.group(2)
        if not _DIGEST_VALUE_RE.match(value):
            raise ContainerError(f"{names.MANIFEST}: digest of {m.group(1)!r} is not a base64 SHA-256: {value[:60]!r}")
        try:
            pairs.append((m.group(1), base64.b64decode(value, validate=True)))
        except binascii.Error as e:
            raise ContainerError(f"{names.MANIFEST}: digest of {m.group(1)!r} is not base64: {e}") from e
    if names.manifest_xml(pairs) != data:
        raise ContainerError(
            f"{names.MANIFEST}: expected an ASiCManifest with one SigReference to {names.MANIFEST_TOKEN} and "
            f"SHA-256 DataObjectReferences only, in PromptStamp's layout; found other content "
            f"({len(pairs)} references recognised)"
        )
    return pairs
