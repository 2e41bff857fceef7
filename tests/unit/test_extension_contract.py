"""Contract across the two halves: every record the extension's golden fixtures expect is one the
server's model accepts, and the extension's session chain (`prev`) verifies with the server's
RFC 8785 canonicalizer, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptstamp.canonical import digest_of
from promptstamp.model import Record

EXPECTED_DIR = Path(__file__).resolve().parents[2] / "extension" / "test" / "expected"
EXPECTED = sorted(EXPECTED_DIR.glob("*.json"))


def _records(path: Path) -> list[dict[str, Any]]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    records: list[dict[str, Any]] = doc["records"]
    return records


def test_golden_fixtures_exist() -> None:
    assert len(EXPECTED) >= 10


@pytest.mark.parametrize("path", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_expected_records_are_valid_for_the_server(path: Path) -> None:
    for value in _records(path):
        record = Record.from_json(value)
        assert record.device is not None
        assert record.value["client"]["adapter"].startswith(record.site + "@")


@pytest.mark.parametrize("path", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_extension_chain_verifies_with_the_server_canonicalizer(path: Path) -> None:
    heads: dict[tuple[str, str], tuple[int, str]] = {}
    for value in _records(path):
        record = Record.from_json(value)
        key = (record.site, record.session_id)
        seq, digest = heads.get(key, (0, None)) if key in heads else (0, None)
        assert record.seq == seq + 1
        assert record.prev == digest
        heads[key] = (record.seq, digest_of(value))


def test_drifted_fixtures_expect_no_records() -> None:
    drifted = [p for p in EXPECTED if p.stem.endswith("--drifted")]
    assert drifted
    for path in drifted:
        assert _records(path) == []
