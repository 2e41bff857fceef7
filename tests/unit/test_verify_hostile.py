"""Hostile input: the verifier never crashes and never calls it valid. Includes a bounded hypothesis fuzz."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundle_sample import OpensslTsa, bundle_entries, rebuild_bundle, sample_session
from promptstamp import bundle, bundle_names, tokens
from promptstamp.verdict import Report, Trust
from promptstamp.verify import check_bundle, check_token
from promptstamp.zipsafe import ZipLimits


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="fuzz-tsa")


@pytest.fixture(scope="module")
def small(tsa: OpensslTsa) -> tuple[bytes, Trust]:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=3, batch_size=3, image_every=2)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    trust = Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.public.pem])
    return out.getvalue(), trust


def container_failure(report: Report) -> str:
    assert report.exit_code == 1
    first = report.failures[0]
    assert first.step == "container", first
    return first.detail


def zip_of(entries: list[tuple[str, bytes]], *, stored_first: bool = True) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names, which one test wants
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for i, (name, data) in enumerate(entries):
                method = zipfile.ZIP_STORED if (i == 0 and stored_first) else zipfile.ZIP_DEFLATED
                z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


MIME = ("mimetype", bundle_names.MIMETYPE.encode())


@pytest.mark.parametrize("data", [b"", b"hello", b"PK\x03\x04" + b"\x00" * 40, b"PK\x05\x06" + b"\x00" * 18,
                                  b"\x30\x82\x01\x00" + b"\x00" * 10])
def test_not_a_zip_is_refused(data: bytes, small: tuple[bytes, Trust]) -> None:
    report = check_bundle(data, small[1])
    assert "not a readable ZIP" in container_failure(report) or report.failures


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "records/../../x", "C:/x", "a\\b", "a//b", "./a"])
def test_escaping_entry_names_are_refused(name: str, small: tuple[bytes, Trust]) -> None:
    detail = container_failure(check_bundle(zip_of([MIME, (name, b"x")]), small[1]))
    assert repr(name) in detail


def test_duplicate_entry_names_are_refused(small: tuple[bytes, Trust]) -> None:
    detail = container_failure(check_bundle(zip_of([MIME, ("README.txt", b"a"), ("README.txt", b"b")]), small[1]))
    assert "appears twice" in detail


def test_a_deflate_bomb_is_refused_before_inflating(small: tuple[bytes, Trust]) -> None:
    bomb = zip_of([MIME, ("blobs/" + "0" * 64, b"\0" * (20 << 20))])
    assert len(bomb) < 100_000
    assert "ZIP bomb" in container_failure(check_bundle(bomb, small[1]))


@pytest.mark.parametrize(("limits", "expected"), [
    (ZipLimits(max_entries=5), "entries: expected at most 5"),
    (ZipLimits(max_entry_bytes=1000), "bytes: limit 1000"),
    (ZipLimits(max_total_bytes=5000), "add up to more than 5000"),
])
def test_container_limits(limits: ZipLimits, expected: str, small: tuple[bytes, Trust]) -> None:
    assert expected in container_failure(check_bundle(small[0], small[1], limits=limits))


def test_an_entry_inflating_past_its_declared_size_is_refused(small: tuple[bytes, Trust]) -> None:
    data = bytearray(zip_of([MIME, ("README.txt", b"A" * 5000)]))
    # Lie in the central directory: declare 100 bytes for README.txt.
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)
    lh = data.find(b"PK\x03\x04", 10)
    struct.pack_into("<I", data, lh + 22, 100)
    report = check_bundle(bytes(data), small[1])
    assert report.exit_code == 1
    assert any("README.txt" in c.detail for c in report.failures)


@pytest.mark.parametrize(("entries", "expected"), [
    ([("mimetype", b"application/zip")], "expected mimetype"),
    ([("README.txt", b"x"), MIME], "expected the first entry to be 'mimetype'"),
])
def test_wrong_mimetype_is_refused(entries: list[tuple[str, bytes]], expected: str, small: tuple[bytes, Trust]) -> None:
    assert expected in container_failure(check_bundle(zip_of(entries), small[1]))


def test_compressed_mimetype_is_refused(small: tuple[bytes, Trust]) -> None:
    detail = container_failure(check_bundle(zip_of([MIME], stored_first=False), small[1]))
    assert "stored" in detail


def test_an_empty_bundle_with_only_a_mimetype_is_invalid(small: tuple[bytes, Trust]) -> None:
    report = check_bundle(zip_of([MIME]), small[1])
    assert report.exit_code == 1
    assert {c.subject for c in report.failures} >= {"SHA256SUMS", "META-INF/ASiCManifest001.xml"}


@pytest.mark.parametrize("content", [b"{", b"[" * 100_000 + b"]" * 100_000, b'{"a":1,"a":2}', b"\xff\xfe",
                                     b'{"v":1}', b"1e400", b'"\\ud800"'])
def test_malformed_json_records_are_named(content: bytes, small: tuple[bytes, Trust]) -> None:
    entries = bundle_entries(small[0])
    name = next(n for n in entries if n.startswith("records/"))
    report = check_bundle(rebuild_bundle({**entries, name: content}), small[1])
    assert report.exit_code == 1
    assert any(c.subject == name and c.name == "record" for c in report.failures)


def test_huge_json_is_refused_without_parsing(small: tuple[bytes, Trust]) -> None:
    entries = bundle_entries(small[0])
    name = next(n for n in entries if n.startswith("receipts/"))
    huge = b'{"x":"' + os.urandom(9 << 20).hex().encode() + b'"}'  # 18 MiB that does not compress much
    detail = container_failure(check_bundle(rebuild_bundle({**entries, name: huge}), small[1]))
    assert name in detail and "expected at most" in detail


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x03\x02\x01\x00", b"\xff" * 64])
def test_malformed_der_tokens_are_named(der: bytes, small: tuple[bytes, Trust]) -> None:
    entries = bundle_entries(small[0])
    name = next(n for n in entries if n.endswith(".tst") and n.startswith("batches/"))
    report = check_bundle(rebuild_bundle({**entries, name: der}), small[1])
    assert any(c.subject == name for c in report.failures)
    token_report = check_token(der, small[1], digest=b"\0" * 32)
    assert token_report.exit_code == 1 and token_report.failures[0].name == "structure"


# --- bounded fuzz ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(data=st.data())
def test_fuzz_raw_bundle_bytes(small: tuple[bytes, Trust], data: st.DataObject) -> None:
    original, trust = small
    started = time.monotonic()
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        pos = data.draw(st.integers(0, max(len(mutated) - 1, 0)))
        if action == "flip" and mutated:
            mutated[pos] ^= data.draw(st.integers(1, 255))
        elif action == "truncate":
            del mutated[pos:]
        elif action == "insert":
            mutated[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif mutated:
            mutated[pos:pos + 8] = b"\0" * len(mutated[pos:pos + 8])
    report = check_bundle(bytes(mutated), trust)  # must not raise
    assert time.monotonic() - started < 20
    if report.exit_code != 1:
        # Only ZIP metadata no digest covers (times, attributes) may change: the files must be identical.
        assert bundle_entries(bytes(mutated)) == bundle_entries(original)


@FUZZ
@given(data=st.data())
def test_fuzz_file_contents(small: tuple[bytes, Trust], data: st.DataObject) -> None:
    original, trust = small
    entries = bundle_entries(original)
    name = data.draw(st.sampled_from(sorted(entries)))
    content = bytearray(entries[name])
    pos = data.draw(st.integers(0, max(len(content) - 1, 0)))
    replacement = data.draw(st.binary(min_size=1, max_size=8))
    content[pos:pos + len(replacement)] = replacement
    if bytes(content) == entries[name]:
        return
    report = check_bundle(rebuild_bundle({**entries, name: bytes(content)}), trust)
    assert report.exit_code == 1, name


@FUZZ
@given(data=st.data())
def test_fuzz_bare_tokens(small: tuple[bytes, Trust], data: st.DataObject) -> None:
    entries = bundle_entries(small[0])
    token = entries[bundle_names.SUMS_TOKEN]
    digest = hashlib.sha256(entries[bundle_names.SUMS]).digest()
    mutated = bytearray(token)
    pos = data.draw(st.integers(0, len(mutated) - 1))
    mutated[pos] ^= data.draw(st.integers(1, 255))
    report = check_token(bytes(mutated), small[1], digest=digest)  # must not raise
    if report.exit_code != 1:
        # The signed content is unchanged (the byte was in an unsigned certificate copy).
        info, orig = tokens.token_info(bytes(mutated)), tokens.token_info(token)
        assert (info.imprint, info.gen_time, info.serial) == (orig.imprint, orig.gen_time, orig.serial)
