"""Pack, segment, locator and stamp formats: what is written reads back, and damage is named."""

from __future__ import annotations

import pytest

from factories import Chain
from promptstamp import fastjson, pack
from promptstamp.errors import StorageError
from promptstamp.model import Record

BATCH = {"v": 1, "id": "01JDX6Z9A1B2C3D4E5F6G7H8J9", "root": "sha256:" + "ab" * 32, "size": 3,
         "sealed_at": "2026-12-06T03:00:00.000Z"}


def entries(n: int) -> list[pack.PackEntry]:
    chain = Chain()
    return [pack.PackEntry(f"acct-{i % 2}", Record.from_json(chain.next(text=f"step {i} " * i)).canonical,
                           b'{"receipt":%d}' % i) for i in range(n)]


@pytest.mark.parametrize("n", [1, 3, 200])
def test_a_pack_reads_back_every_entry_and_its_span_reads_it_directly(n: int) -> None:
    written = entries(n)
    data, spans = pack.encode_pack(BATCH, written)
    meta, read = pack.decode_pack(data, "k")
    assert meta.batch == BATCH and meta.accounts == ("acct-0", "acct-1")[: min(n, 2)]
    assert [e for e, _ in read] == written and [s for _, s in read] == spans
    for entry, span in zip(written, spans, strict=True):
        assert data[span.offset: span.offset + span.record_len] == entry.record
        assert data[span.offset + span.record_len: span.end] == entry.receipt


def test_the_meta_reads_from_the_first_bytes_alone() -> None:
    data, _ = pack.encode_pack(BATCH, entries(50))
    head = data[: pack.HEAD_PROBE]
    needed = pack.meta_length(head, "k")
    assert pack.decode_meta(data[:needed], "k").batch == BATCH


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: b"not a pack" + d, "expected a pack starting"),
    (lambda d: d[:30], "cut short"),
    (lambda d: d[:-5], "outside the body"),
])
def test_a_damaged_pack_is_a_named_storage_error(damage: object, message: str) -> None:
    data, _ = pack.encode_pack(BATCH, entries(3))
    with pytest.raises(StorageError, match=message):
        pack.decode_pack(damage(data), "batches/x/pack")  # type: ignore[operator]


def test_segments_of_both_layouts_decode_and_bad_ones_are_named() -> None:
    record = Record.from_json(Chain().next(text="a cat"))
    doc = pack.segment("chatgpt", "s1", BATCH, [pack.segment_entry(record, pack.Span(10, 20, 30))])
    assert pack.decode_segment(fastjson.dumps(doc), "k") == doc
    old = b'{"v":1,"site":"chatgpt","session":"s1","records":[{"id":"X","seq":1,"captured_at":"t","type":"prompt"}]}'
    assert pack.decode_segment(old, "k", "01BATCH")["batch"] == {"id": "01BATCH"}
    with pytest.raises(StorageError, match=r"record 0: expected \[offset, record bytes, receipt bytes\]"):
        pack.decode_segment(b'{"v":2,"site":"chatgpt","session":"s1","batch":{"id":"b"},"records":[{"id":"X"}]}', "k")


def test_locators_and_stamps_round_trip() -> None:
    assert pack.decode_locator(pack.encode_locator("b", {"r1": ("chatgpt", "s 1")}), "k") == {"r1": ("chatgpt", "s 1")}
    tokens = (pack.StoredToken("devtsa", b"\x30\x03\x02\x01\x01", True, "PEM"),)
    assert pack.decode_stamp(pack.encode_stamp(tokens), "k") == tokens
    with pytest.raises(StorageError, match="unreadable stamp"):
        pack.decode_stamp(b'{"tokens":[{"tsa":"x"}]}', "k")
