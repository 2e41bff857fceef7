"""Fast JSON for bytes nobody hashes or signs: API answers, packs' tables, index segments, stamps.

The only orjson importer. What is hashed or signed is RFC 8785 and comes from ``canonical``; this
module's output is never compared byte for byte, only parsed again, with one exception that
``canonical`` owns: ``sorted_compact`` as a quick way to confirm that bytes are canonical where it
can prove the two forms agree (and that falls back to its own serializer everywhere else).
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON; raises TypeError for values JSON cannot hold (as the standard library does)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except orjson.JSONEncodeError as e:
        raise TypeError(str(e)) from e


def raw(data: bytes) -> Any:
    """Bytes that are JSON already, to be embedded in a ``dumps`` answer exactly as they are (a stored
    receipt in an ingest answer: no parse and re-encode per record). Only ``dumps`` accepts it."""
    return orjson.Fragment(data)


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (``orjson.JSONDecodeError`` is one) for anything that is not JSON."""
    return orjson.loads(data)


def sorted_compact(value: Any) -> bytes | None:
    """Compact UTF-8 JSON with sorted keys and integers within ±(2^53-1); None where orjson refuses
    (a larger integer, a lone surrogate, deep nesting, a type JSON cannot hold)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return None
