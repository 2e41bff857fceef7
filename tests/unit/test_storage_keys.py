"""check_key: the one gate between caller-chosen names and paths on disk or in a bucket."""

from __future__ import annotations

import pytest

from promptstamp.errors import StorageError
from promptstamp.storage import MAX_KEY_LENGTH, check_key


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "records/01HX0000000000000000000000.json",
        "a/acct/blobs/" + "0" * 64 + ".meta.json",
        "a/acct/sessions/chatgpt/_h0123/01HX",
        "batches/01HX/tokens/dev-tsa.tst",
        "k=v",
        "x" * 200,
        "/".join(["s" * 200] * 4) + "/" + "t" * (MAX_KEY_LENGTH - 4 * 201),
    ],
)
def test_check_key_accepts_safe_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "1..900 characters"),
        ("x" * (MAX_KEY_LENGTH + 1), "1..900 characters"),
        ("s" * 201, "unsafe segment"),
        ("..", "unsafe segment '..'"),
        ("../x", "unsafe segment '..'"),
        ("a/../../x", "unsafe segment '..'"),
        ("a/./b", "unsafe segment '.'"),
        ("/abs", "unsafe segment ''"),
        ("a//b", "unsafe segment ''"),
        ("a/", "unsafe segment ''"),
        (".hidden", "unsafe segment '.hidden'"),
        ("-flag", "unsafe segment '-flag'"),
        ("a\x00b", "unsafe segment"),
        ("a\\b", "unsafe segment"),
        ("a b", "unsafe segment"),
        ("caf\u00e9", "unsafe segment"),
        ("a/\nb", "unsafe segment"),
    ],
)
def test_check_key_rejects_unsafe_keys_and_says_which_part(key: str, why: str) -> None:
    with pytest.raises(StorageError, match="object key") as raised:
        check_key(key)
    assert why in raised.value.detail


def test_check_key_rejects_non_strings() -> None:
    with pytest.raises(StorageError, match="1..900 characters"):
        check_key(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["a\n", "a/b\n", "a\n/b"])
def test_check_key_rejects_a_newline_at_the_end_of_a_segment(key: str) -> None:
    with pytest.raises(StorageError):
        check_key(key)
