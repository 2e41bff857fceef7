"""Group commit: items arriving within a short window are sealed together.

One committer thread collects submitted items until the window (counted from the first item of the
batch) has passed or the batch is full, then hands the batch to a small pool of sealer threads and
starts collecting the next one at once, so a slow TSA delays its own batch only. Every item gets a
``Slot`` that the seal function resolves before it returns (DESIGN.md, "Batch").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class _Group:
    """The items of one ``submit``: one lock and condition for all of them, so an array of 1,000
    records costs one condition, not 1,000 futures with a condition each (a tenth of a worker's time
    under array load)."""

    __slots__ = ("cond", "remaining")

    def __init__(self, size: int) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.remaining = size


class Slot(Generic[R]):
    """One item's result, set once by the seal function (the part of ``Future`` the batcher needs).
    Waiters are woken when their whole submission is done, or when a batch holding part of it was
    sealed (``Batcher`` calls ``wake``)."""

    __slots__ = ("_group", "_done", "_value", "_error")

    def __init__(self, group: _Group) -> None:
        self._group = group
        self._done = False
        self._value: R | None = None
        self._error: BaseException | None = None

    def set_result(self, value: R) -> None:
        self._settle(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(None, error)

    def _settle(self, value: R | None, error: BaseException | None) -> None:
        with self._group.cond:
            if self._done:
                raise RuntimeError("a batch item's result is set once")
            self._value, self._error, self._done = value, error, True
            self._group.remaining -= 1
            if not self._group.remaining:
                self._group.cond.notify_all()

    def done(self) -> bool:
        return self._done

    def wake(self) -> None:
        with self._group.cond:
            self._group.cond.notify_all()

    def result(self, timeout: float | None = None) -> R:
        """The value, or the error raised; ``TimeoutError`` if not set within ``timeout`` seconds."""
        with self._group.cond:
            if not self._group.cond.wait_for(lambda: self._done, timeout):
                raise TimeoutError("the batch holding this item was not sealed in time")
        if self._error is not None:
            raise self._error
        return cast(R, self._value)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        try:
            self.result(timeout)
        except TimeoutError:
            raise
        except BaseException as e:
            return e
        return None


class Pending(Generic[T, R]):
    __slots__ = ("item", "future")

    def __init__(self, item: T, future: Slot[R]) -> None:
        self.item = item
        self.future = future


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

    def submit(self, items: Sequence[T]) -> list[Slot[R]]:
        """Queue items for the next batch; they stay together unless they overflow it."""
        group = _Group(len(items))
        pending: list[Pending[T, R]] = [Pending(item, Slot(group)) for item in items]
        with self._cond:
            if self._closed:
                raise RuntimeError("batcher is closed")
            was_empty = not self._queue
            if was_empty:
                self._first_at = time.monotonic()
            self._queue.extend(pending)
            # The committer waits for the window's end once a batch has begun: wake it only to start a
            # window or to seal a full batch, not on every submission (a wake-up per single-record
            # post cost a tenth of a worker's time).
            if was_empty or len(self._queue) >= self._max_items:
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
        else:
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(RuntimeError("the seal function left an item without a result"))
        finally:
            # A submission split over several batches: wake its waiters for the part sealed here.
            for p in {id(p.future._group): p for p in batch}.values():
                p.future.wake()

    def close(self, timeout: float = 30.0) -> None:
        """Seal what is queued, wait for the sealers, stop the threads."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True)
