import struct

import pytest

from promptstamp.canonical import (
    canonicalize,
    digest_bytes,
    digest_of,
    parse_canonical,
    parse_json,
    serialize_number,
)
from promptstamp.errors import CanonicalizationError

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
APPENDIX_B = {
    "0000000000000000": "0", "8000000000000000": "0", "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324", "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308", "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992", "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22", "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23", "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000", "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7", "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332", "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333", "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343", "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B.items())
def test_numbers_serialize_as_rfc_8785_appendix_b(bits: str, expected: str) -> None:
    assert serialize_number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_rfc_8785_section_3_2_4_example() -> None:
    text = ('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
            '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}')
    assert canonicalize(parse_json(text)) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}').encode()


def test_keys_sort_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3 example: U+1F600 (surrogate pair D83D) sorts before U+FB33 in UTF-16.
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    keys = list(parse_json(canonicalize(value)).keys())
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(("text", "message"), [
    ('{"a":1,"a":2}', "duplicate key 'a'"),
    ('{"a":"\\ud800"}', "lone surrogate"),
    ('{"a":NaN}', "NaN is not allowed"),
    ('{"a":Infinity}', "Infinity is not allowed"),
    ('{"a":9007199254740992}', "outside"),
    ('{"a":1e400}', "overflows"),
    ('{"a":', "malformed JSON"),
    (b'{"a":"\xff"}', "not UTF-8"),
])
def test_json_that_jcs_cannot_represent_is_rejected(text: str | bytes, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        parse_json(text)


def test_digest_is_sha256_of_canonical_bytes() -> None:
    assert digest_of({"b": 1, "a": [True]}) == digest_of(parse_json('{ "a" : [ true ], "b" : 1.0 }'))
    assert len(digest_bytes(digest_of({}))) == 32
    with pytest.raises(CanonicalizationError, match="expected a digest"):
        digest_bytes("sha256:ABC")


@pytest.mark.parametrize("text", [
    b'{"a":1,"a":1}', b'{"a": 1}', b'{"b":1,"a":2}', b'{"a":1.0}', b'{"a":"\\u00e9"}', b'{"a":"\\ud800"}',
    b'{"a":9007199254740993}', b'{"a":NaN}', b'\xff', b'{"a":',
])
def test_parse_canonical_accepts_only_rfc_8785_bytes(text: bytes) -> None:
    with pytest.raises(CanonicalizationError):
        parse_canonical(text)


def test_parse_canonical_round_trips_canonical_bytes() -> None:
    data = canonicalize({"z": [1, 2.5, "é😀", None, True], "a": {"\U0001f600": 1, "\ufb33": 2}})
    assert canonicalize(parse_canonical(data)) == data


def _every_character() -> list[str]:
    """Every Unicode scalar value, in strings of 512 (surrogates have no UTF-8 form)."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    return ["".join(chars[i:i + 512]) for i in range(0, len(chars), 512)]


def test_parse_canonical_accepts_exactly_what_canonicalize_writes_for_every_character() -> None:
    # parse_canonical confirms most bytes with orjson's sorted form instead of canonicalize: both must
    # agree on every string, as values and as keys (escapes, raw characters, key order).
    for text in _every_character():
        value = {text: [text, 1, -(2**53 - 1)], "k": {text[:1]: 0, text[-1:]: 1}}
        data = canonicalize(value)
        assert parse_canonical(data) == value
        assert canonicalize(parse_canonical(data)) == data


@pytest.mark.parametrize("text", [
    '{"a":"\\u001f"}', '{"a":"\\u001F"}', '{"a":"\\/"}', '{"a":"\u007f"}', '{"a":[1,2] }', '{"a":-0}',
    '{"a":1E2}', '{"\ue000":1,"\U0001f600":2}', '{"a":9007199254740992}',
])
def test_parse_canonical_matches_canonicalize_on_edge_forms(text: str) -> None:
    data = text.encode("utf-8")
    value = parse_json(data) if text != '{"a":9007199254740992}' else None
    canonical = value is not None and canonicalize(value) == data
    if canonical:
        assert parse_canonical(data) == value
    else:
        with pytest.raises(CanonicalizationError):
            parse_canonical(data)
