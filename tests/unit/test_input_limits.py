"""Hostile input at the edges: named 400s, never a 500, and log lines that cannot be forged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from test_model import record

from promptstamp.canonical import parse_json
from promptstamp.errors import CanonicalizationError, InvalidInput
from promptstamp.logs import TEXT_FORMAT, TextFormatter
from promptstamp.model import MAX_PARAMS_DEPTH, Record


def test_an_integer_of_thousands_of_digits_is_refused_by_name_without_converting_it() -> None:
    with pytest.raises(CanonicalizationError, match=r"integer of 5000 digits is outside ±\(2\^53-1\)"):
        parse_json('{"seq": ' + "9" * 5000 + "}")
    with pytest.raises(CanonicalizationError, match="integer of 17 digits"):
        parse_json('{"seq": -' + "9" * 17 + "}")
    assert parse_json('{"seq": -9007199254740991}') == {"seq": -9007199254740991}


def test_nesting_beyond_the_parser_is_a_named_error() -> None:
    with pytest.raises(CanonicalizationError, match=r"nested deeper than the parser's limit \(about \d+ levels\)"):
        parse_json("[" * 100_000 + "]" * 100_000)


def _params_nesting(levels: int) -> dict[str, Any]:
    """A params object with ``levels`` containers below it."""
    value: Any = "leaf"
    for _ in range(levels):
        value = {"x": value}
    return {"p": value}


def test_params_nest_at_most_the_stated_depth() -> None:
    Record.from_json(record(params=_params_nesting(MAX_PARAMS_DEPTH)))
    with pytest.raises(InvalidInput, match=f"record.params: nested more than {MAX_PARAMS_DEPTH} levels deep"):
        Record.from_json(record(params=_params_nesting(MAX_PARAMS_DEPTH + 1)))
    with pytest.raises(InvalidInput, match="nested more than"):
        Record.from_json(record(params={"a": [[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}))


@pytest.mark.parametrize("session_id", [".", "..", "a/../b", "./x", "x/.", "with space", "back\\slash", "tab\t",
                                        "snow\u2603", ""])
def test_session_ids_outside_the_safe_set_are_refused(session_id: str) -> None:
    with pytest.raises(InvalidInput, match="record.session.id"):
        Record.from_json(record(session={"site": "chatgpt", "id": session_id}))


@pytest.mark.parametrize("session_id", ["6761f0b2-1a2b-4c3d-8e9f-0123456789ab", "c_1a2b3c", "7432109876543210",
                                        "why-is-the-sky-blue-Xy12.abc", "https://example.org/a/b.html", "a..b"])
def test_session_ids_the_sites_use_are_accepted(session_id: str) -> None:
    assert Record.from_json(record(session={"site": "chatgpt", "id": session_id})).session_id == session_id


def test_text_logs_escape_control_characters_so_no_line_can_be_forged() -> None:
    formatter = TextFormatter(TEXT_FORMAT)
    entry = logging.LogRecord("promptstamp.web", logging.INFO, __file__, 1, "GET %s",
                              ("/v1/x\n2026-12-06 00:00:00 ERROR forged: admin login\r\x1b[2J",), None)
    line = formatter.format(entry)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "\\x0a2026-12-06" in line and "\\x1b[2J" in line
