import threading
import time
from collections.abc import Sequence

import pytest

from promptstamp.batcher import Batcher, Pending


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def seal(self, batch: Sequence[Pending[int, str]]) -> None:
        with self.lock:
            self.batches.append([p.item for p in batch])
        for p in batch:
            p.future.set_result(f"sealed {p.item} in a batch of {len(batch)}")


def test_items_within_the_window_share_one_batch() -> None:
    rec = Recorder()
    batcher: Batcher[int, str] = Batcher(rec.seal, window_s=0.2, max_items=100)
    futures = []
    threads = [threading.Thread(target=lambda i=i: futures.extend(batcher.submit([i]))) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [f.result(timeout=5) for f in futures]
    batcher.close()
    assert rec.batches and len(rec.batches) == 1, rec.batches
    assert all(r.endswith("batch of 20") for r in results)


def test_a_full_batch_seals_before_the_window_ends() -> None:
    rec = Recorder()
    batcher: Batcher[int, str] = Batcher(rec.seal, window_s=30, max_items=10)
    started = time.monotonic()
    futures = batcher.submit(list(range(25)))
    for f in futures[:20]:
        f.result(timeout=5)
    assert time.monotonic() - started < 10
    batcher.close()  # seals the remaining 5 at once
    assert [len(b) for b in rec.batches] == [10, 10, 5]
    assert futures[-1].result(timeout=1).endswith("batch of 5")


def test_a_failing_seal_fails_its_waiters_instead_of_hanging() -> None:
    def seal(batch: Sequence[Pending[int, str]]) -> None:
        raise RuntimeError("disk on fire")

    batcher: Batcher[int, str] = Batcher(seal, window_s=0, max_items=10)
    (future,) = batcher.submit([1])
    with pytest.raises(RuntimeError, match="disk on fire"):
        future.result(timeout=5)
    batcher.close()


def test_submit_after_close_is_refused() -> None:
    batcher: Batcher[int, str] = Batcher(Recorder().seal, window_s=0, max_items=1)
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([1])
