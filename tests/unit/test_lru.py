"""The LRU cache keeps what was used last, within its total weight."""

from __future__ import annotations

from promptstamp.lru import Lru


def test_the_least_recently_used_goes_first() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.peek("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.peek("b") is None and cache.peek("a") == 1 and cache.peek("c") == 3


def test_weights_bound_the_total_and_a_heavy_value_evicts_several() -> None:
    cache: Lru[str, list[int]] = Lru(10, weight=len)
    for key in "abcde":
        cache.put(key, [0, 0])  # 5 x 2 = 10
    assert all(cache.peek(k) is not None for k in "abcde")
    cache.put("big", [0] * 7)
    assert [k for k in "abcde" if cache.peek(k) is not None] == ["e"]  # 2 + 7 <= 10
    assert cache.get("big", lambda: [1]) == [0] * 7


def test_a_value_heavier_than_the_bound_is_kept_alone_until_the_next_put() -> None:
    cache: Lru[str, list[int]] = Lru(3, weight=len)
    cache.put("huge", [0] * 5)
    assert cache.peek("huge") == [0] * 5
    cache.put("small", [0])
    assert cache.peek("huge") is None and cache.peek("small") == [0]
