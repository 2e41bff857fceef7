"""A small thread-safe LRU map, for caching what was read from write-once objects.

``size`` bounds the total weight of the values kept (by default each weighs 1): a cache of parsed
index segments weighs them by their records, so a few huge segments cannot hold a worker's memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    def __init__(self, size: int, weight: Callable[[V], int] | None = None) -> None:
        self._size = size
        self._weight = weight
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def peek(self, key: K) -> V | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return None

    def put(self, key: K, value: V) -> None:
        weight = 1 if self._weight is None else max(1, self._weight(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, weight)
            self._total += weight
            while self._total > self._size and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._total -= dropped

    def get(self, key: K, make: Callable[[], V]) -> V:
        value = self.peek(key)
        if value is None:
            value = make()  # outside the lock: a slow read must not stall other requests
            self.put(key, value)
        return value
