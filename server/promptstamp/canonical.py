"""RFC 8785 (JCS) canonical JSON: the only definition of "the bytes we hash and sign".

Parsing is strict on purpose: duplicate keys, lone surrogates, NaN/Infinity and integers outside
±(2^53-1) are rejected, never normalized, because two parties must derive identical bytes from the
same JSON text (DESIGN.md, "Formats").
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from typing import Any

from . import fastjson
from .errors import CanonicalizationError

MAX_SAFE_INTEGER = 2**53 - 1
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

JsonValue = Any  # None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]


def _reject_constant(name: str) -> float:
    raise CanonicalizationError(f"JSON number {name} is not allowed (RFC 8785 §3.2.2.3 has no form for it)")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise CanonicalizationError(f"duplicate key {key!r} in a JSON object")
        obj[key] = value
    return obj


# 2^53-1 has 16 digits: a longer integer is out of range without converting it (Python refuses to
# convert more than 4,300 digits at all, and converting is quadratic below that).
_MAX_INT_CHARS = len(str(-MAX_SAFE_INTEGER))


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_CHARS:
        raise CanonicalizationError(
            f"integer of {len(text.lstrip('-'))} digits is outside ±(2^53-1); RFC 8785 numbers are IEEE 754 doubles"
        )
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalizationError(
            f"integer {text} is outside ±(2^53-1); RFC 8785 numbers are IEEE 754 doubles"
        )
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise CanonicalizationError(f"number {text} overflows an IEEE 754 double")
    return value


class _FloatFound(Exception):
    """A number with a fraction or exponent: ``parse_canonical`` takes its general path."""


def _float_found(_text: str) -> float:
    raise _FloatFound


# Built once: json.loads makes a new decoder on every call that passes options.
_STRICT = json.JSONDecoder(object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant,
                           parse_int=_parse_int, parse_float=_parse_float)
_PLAIN = json.JSONDecoder(parse_constant=_reject_constant)
_NO_FLOATS = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_float_found)
# UTF-8 lead bytes of U+E000 and above: where code point order and UTF-16 order (RFC 8785 §3.2.3) differ.
_HIGH_LEAD = re.compile(rb"[\xee-\xf4]")


def parse_json(data: bytes | str) -> JsonValue:
    """Parse JSON text strictly; raise CanonicalizationError for anything JCS cannot represent."""
    if isinstance(data, bytes):
        # Stored evidence (receipts, batch files) is RFC 8785 already: bytes that are exactly the canonical
        # form of what the C parser read hold no duplicate key, no lone surrogate and no integer out of
        # range, so the strict parser's per-object and per-number hooks would find nothing.
        try:
            value = _NO_FLOATS.decode(data.decode("utf-8"))
        except (_FloatFound, UnicodeDecodeError, json.JSONDecodeError, RecursionError, CanonicalizationError):
            pass
        else:
            if _agrees_quickly(value, data, False):
                return value
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CanonicalizationError(f"body is not UTF-8: {e}") from e
    else:
        text = data
    try:
        value = _STRICT.decode(text)
    except json.JSONDecodeError as e:
        raise CanonicalizationError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise CanonicalizationError(f"JSON is nested deeper than the parser's limit (about "
                                    f"{sys.getrecursionlimit()} levels)") from e
    # Decoded UTF-8 never holds a surrogate, so a lone one can only come from a \uD800-\uDFFF escape:
    # walk the strings only when the text has such an escape.
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value)
    return value



def parse_canonical(data: bytes) -> JsonValue:
    """Parse bytes that must already be RFC 8785 canonical JSON; raise CanonicalizationError otherwise.

    Faster than ``parse_json`` for stored evidence: the C parser runs without per-object hooks, and
    re-serializing must give back exactly ``data``, which rules out duplicate keys, whitespace,
    non-canonical numbers and escapes, lone surrogates and integers beyond ±(2^53-1) all at once.
    """
    try:
        text = data.decode("utf-8")
        try:
            value, floats = _NO_FLOATS.decode(text), False
        except _FloatFound:
            value, floats = _PLAIN.decode(text), True
    except UnicodeDecodeError as e:
        raise CanonicalizationError(f"not UTF-8: {e}") from e
    except json.JSONDecodeError as e:
        raise CanonicalizationError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise CanonicalizationError("JSON is nested too deeply") from e
    if not _agrees_quickly(value, data, floats) and canonicalize(value) != data:
        raise CanonicalizationError("expected RFC 8785 canonical JSON bytes, found another serialization")
    return value


def _agrees_quickly(value: JsonValue, data: bytes, floats: bool) -> bool:
    """True only when ``canonicalize(value) == data`` is certain without running it (a tenth of its cost).

    Without floats, with integers within ±(2^53-1) (``sorted_compact`` refuses others) and with no
    character at or above U+E000 in the text (so sorting keys by code point is sorting them by UTF-16
    code units), orjson's sorted compact form is the RFC 8785 form: both escape exactly '"', '\\' and
    U+0000..U+001F, with the same short forms and lowercase ``\\u00xx`` (tests hold this for every
    character). Anything else, or any difference, takes ``canonicalize``, which words the error."""
    return not floats and not _HIGH_LEAD.search(data) and fastjson.sorted_compact(value) == data


def _check_strings(value: JsonValue) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, dict):
            for k, v in item.items():
                _check_string(k)
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)


def _check_string(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CanonicalizationError(
            f"string contains a lone surrogate (\\u{ord(s[e.start]):04x}); RFC 8785 requires valid Unicode"
        ) from e


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def _serialize_string(s: str) -> str:
    _check_string(s)
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'


def serialize_number(value: int | float) -> str:
    """ECMAScript Number.prototype.toString, as RFC 8785 §3.2.2.3 requires."""
    if isinstance(value, bool):
        raise CanonicalizationError("a boolean is not a number")
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer {value} is outside ±(2^53-1)")
        return str(value)
    if not math.isfinite(value):
        raise CanonicalizationError(f"number {value} has no JSON form")
    if value == 0:
        return "0"  # also for -0.0
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, as ECMAScript requires; reshape them.
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the digit string (ECMA-262 Number::toString).
    point = len(int_part) + (int(exp_text) if exp_text else 0)
    if int_part == "0":
        point = -(len(frac_part) - len(frac_part.lstrip("0"))) + (int(exp_text) if exp_text else 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    n = point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exponent = n - 1
        exp_str = f"e+{exponent}" if exponent >= 0 else f"e{exponent}"
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + exp_str
    return sign + text


def _utf16_key(s: str) -> bytes:
    # RFC 8785 §3.2.3: sort property names by their UTF-16 code units.
    return s.encode("utf-16-be")


def _serialize(value: JsonValue, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, (int, float)):
        out.append(serialize_number(value))
    elif isinstance(value, str):
        out.append(_serialize_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(key, str):
                raise CanonicalizationError(f"object key {key!r} is not a string")
            if i:
                out.append(",")
            out.append(_serialize_string(key))
            out.append(":")
            _serialize(value[key], out)
        out.append("}")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def _json_module_agrees(value: JsonValue) -> bool:
    """True when ``json.dumps`` (C-accelerated) yields the RFC 8785 text for ``value``, keys aside.

    It does for null, booleans, integers within ±(2^53-1) and strings: it escapes exactly '"', '\\'
    and U+0000..U+001F, with the same short forms and lowercase \\u00xx as RFC 8785 §3.2.2.2. Floats
    (ECMAScript number formatting) and anything else take the slow path. Key order is checked
    separately (``_keys_sort_alike``), only when the text has characters where the orders differ.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not _json_module_agrees(v):
                return False
        return True
    if t is list:
        return all(_json_module_agrees(v) for v in value)
    return False


# Code point order and UTF-16 code unit order (RFC 8785 §3.2.3) differ only for characters above U+D7FF.
_ABOVE_D7FF = re.compile("[\ue000-\U0010ffff]")


def _keys_sort_alike(value: JsonValue) -> bool:
    """True when no object key has a character above U+D7FF."""
    if type(value) is dict:
        return all(not _ABOVE_D7FF.search(k) and _keys_sort_alike(v) for k, v in value.items())
    if type(value) is list:
        return all(_keys_sort_alike(v) for v in value)
    return True


def canonicalize(value: JsonValue) -> bytes:
    """The RFC 8785 bytes of a parsed JSON value."""
    try:
        fast = _json_module_agrees(value)
    except RecursionError:
        fast = False
    if fast:
        # orjson's sorted compact form is the RFC 8785 form for these values (``_agrees_quickly`` says
        # why), five times faster than the standard library's encoder. None: a lone surrogate or deep
        # nesting, which the slow path names.
        data = fastjson.sorted_compact(value)
        if data is not None and (not _HIGH_LEAD.search(data) or _keys_sort_alike(value)):
            return data
    out: list[str] = []
    _serialize(value, out)
    return "".join(out).encode("utf-8")


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>``, the digest notation used everywhere in PromptStamp."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_of(value: JsonValue) -> str:
    """Digest of a JSON value: sha256 over its RFC 8785 bytes."""
    return sha256_digest(canonicalize(value))


def digest_bytes(digest: str) -> bytes:
    """The 32 raw bytes of a ``sha256:<hex>`` digest."""
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise CanonicalizationError(f"expected a digest 'sha256:<64 lowercase hex>', found {digest!r}")
    return bytes.fromhex(digest[7:])
