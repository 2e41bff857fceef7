"""Group commit: items arriving within a short window are sealed together.

One committer thread collects submitted items until the window (counted from the first item of the
batch) has passed or the batch is full, then hands the batch to a small pool of sealer threads and
starts collecting the next one at once, so a slow TSA delays its own batch only. Every item gets a
Future that the seal function resolves (DESIGN.md, "Batch").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Pending(Generic[T, R]):
    item: T
    future: Future[R] = field(default_factory=Future)


class Batcher(Generic[T, R]):
    def __init__(
        self,
        seal: Callable[[Sequence[Pending[T, R]]], None],
        *,
        window_s: float,
        max_items: int,
        sealers: int = 4,
        name: str = "batcher",
    ) -> None:
        self._seal = seal
        self._window_s = window_s
        self._max_items = max_items
        self._queue: list[Pending[T, R]] = []
        self._first_at = 0.0
        self._cond = threading.Condition()
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=sealers, thread_name_prefix=f"{name}-seal")
        self._thread = threading.Thread(target=self._run, name=f"{name}-commit", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[T]) -> list[Future[R]]:
        """Queue items for the next batch; they stay together unless they overflow it."""
        # Not Pending[T, R](item): calling a subscripted generic costs more than the whole object.
        pending: list[Pending[T, R]] = [Pending(item) for item in items]
        with self._cond:
            if self._closed:
                raise RuntimeError("batcher is closed")
            if not self._queue:
                self._first_at = time.monotonic()
            self._queue.extend(pending)
            self._cond.notify()
        return [p.future for p in pending]

    def _take_batch(self) -> list[Pending[T, R]] | None:
        with self._cond:
            while True:
                if self._queue:
                    remaining = self._first_at + self._window_s - time.monotonic()
                    if remaining <= 0 or len(self._queue) >= self._max_items or self._closed:
                        batch = self._queue[: self._max_items]
                        del self._queue[: self._max_items]
                        # The rest already waited; their window starts now, not at their arrival.
                        self._first_at = time.monotonic()
                        return batch
                    self._cond.wait(remaining)
                elif self._closed:
                    return None
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while (batch := self._take_batch()) is not None:
            self._pool.submit(self._seal_safely, batch)

    def _seal_safely(self, batch: Sequence[Pending[T, R]]) -> None:
        try:
            self._seal(batch)
        except BaseException as e:  # a sealer bug must fail its waiters, never leave them hanging
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(e)
            if not isinstance(e, Exception):
                raise

    def close(self, timeout: float = 30.0) -> None:
        """Seal what is queued, wait for the sealers, stop the threads."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True)
