"""Stored entries sliced straight from an in-memory archive get the same checks zipfile makes."""

from __future__ import annotations

import io
import zipfile

import pytest

from promptstamp.zipsafe import ContainerError, SafeZip


def archive(**entries: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name.replace("__", "/"), data)
    return out.getvalue()


def test_stored_entries_read_from_memory_match_zipfile() -> None:
    data = archive(records__a=b'{"v":1}', receipts__a=b"x" * 5000)
    z = SafeZip(io.BytesIO(data))
    assert z.read("records/a", max_bytes=1 << 20) == b'{"v":1}'
    assert z.read("receipts/a", max_bytes=1 << 20) == b"x" * 5000
    z.close()


def test_an_altered_stored_entry_fails_its_crc() -> None:
    data = bytearray(archive(records__a=b'{"text":"original"}'))
    data[data.index(b"original")] ^= 0x01
    with pytest.raises(ContainerError, match="CRC-32 does not match"):
        SafeZip(io.BytesIO(bytes(data))).read("records/a", max_bytes=1 << 20)


def test_a_local_header_naming_another_file_is_refused() -> None:
    data = bytearray(archive(records__a=b"{}"))
    first = data.index(b"records/a")  # the local header's copy of the name comes first
    data[first + len("records/")] = ord("b")
    with pytest.raises(ContainerError, match="local header names 'records/b'"):
        SafeZip(io.BytesIO(bytes(data))).read("records/a", max_bytes=1 << 20)


def test_an_entry_over_the_caller_limit_is_refused_before_reading() -> None:
    with pytest.raises(ContainerError, match="expected at most 10"):
        SafeZip(io.BytesIO(archive(blobs__x=b"y" * 11))).read("blobs/x", max_bytes=10)
