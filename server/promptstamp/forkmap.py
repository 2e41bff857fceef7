"""Spread CPU-bound verification over forked processes (CLI and bench only; a web worker must not fork).

The workers inherit the caller's state at fork time (copy-on-write: bundle bytes are not pickled
in); only the items and the results cross process boundaries. Without ``fork`` (or with one
worker) everything runs in-process, with the same results in the same order.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_STATE: tuple[Callable[[Any, Any], Any], Any] | None = None


def _call(item: Any) -> Any:
    if _STATE is None:
        raise RuntimeError("forked worker started without its state")
    fn, state = _STATE
    return fn(state, item)


def chunks(items: Sequence[T], workers: int, per_worker: int = 4) -> list[list[T]]:
    if not items:
        return []
    size = -(-len(items) // max(1, workers * per_worker))
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def forkmap(fn: Callable[[S, T], R], state: S, items: Sequence[T], workers: int,
            meanwhile: Callable[[], None] | None = None) -> list[R]:
    """``[fn(state, item) for item in items]``, in order, over up to ``workers`` forked processes.

    ``meanwhile`` is work for this process while the workers run (forked before it starts, they do not
    see what it does); without workers it runs first.
    """
    global _STATE
    if workers <= 1 or len(items) < 2 or "fork" not in mp.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        return [fn(state, item) for item in items]
    _STATE = (fn, state)
    # Move every existing object out of the collector's reach before forking: a collection in a child
    # would otherwise touch (and so copy) every page of the inherited bundle (Python docs, gc.freeze).
    gc.freeze()
    # And no collections while the workers build their results and this process unpickles them: each
    # is a burst of acyclic objects (records, checks) that the collector would traverse again and again,
    # measured at five times the cost of the unpickling itself. The workers inherit this setting.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=mp.get_context("fork")) as pool:
            results = pool.map(_call, items)  # every item is submitted (and the workers forked) here
            if meanwhile is not None:
                meanwhile()
            return list(results)
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
        _STATE = None
