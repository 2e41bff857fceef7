"""Prometheus metrics (the only prometheus_client importer).

gunicorn runs several worker processes; a scrape reaches one of them, so counters kept in process
memory would report one worker's share. In multiprocess mode (``enable_multiprocess(dir)`` in the
gunicorn master, before any worker forks) every process writes its values to files in that
directory and ``/metrics`` sums them (prometheus_client's documented multiprocess mode). Without
it (tests, the CLI), values live in this process.

The metric objects are created once per process on first use, not at import time: prometheus_client
chooses between in-memory and file-backed values when it is first imported, which must come after
``enable_multiprocess``. Metrics are process-wide by nature (one set of files per process id).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Request latencies: group commit waits up to the batch window (200 ms default) plus the TSA call.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)


def enable_multiprocess(directory: Path) -> None:
    """Share metrics across forked workers through files in ``directory`` (emptied here: values
    from an earlier run must not be added to this one's)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    import prometheus_client.values as values

    if not getattr(values.ValueClass, "_multiprocess", False):
        # prometheus_client was imported before the variable was set: switch it now, before any metric exists.
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def worker_exited(pid: int) -> None:
    """gunicorn ``child_exit``: drop the gauges of a dead worker (its counters stay in the totals)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        # A private registry: in multiprocess mode the exposition reads the files, not this registry.
        self._registry = CollectorRegistry(auto_describe=True)
        r = self._registry
        self.requests = Counter("promptstamp_http_requests", "HTTP requests answered",
                                ["method", "endpoint", "status"], registry=r)
        self.latency = Histogram("promptstamp_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "endpoint"], buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("promptstamp_batch_size_records", "Records per sealed batch",
                                    buckets=_BATCH_BUCKETS, registry=r)
        self.records_sealed = Counter("promptstamp_records_sealed", "Records sealed into batches", registry=r)
        self.tsa_requests = Counter("promptstamp_tsa_requests", "RFC 3161 requests sent", ["tsa"], registry=r)
        self.tsa_failures = Counter("promptstamp_tsa_failures", "RFC 3161 requests that failed", ["tsa"],
                                    registry=r)
        self.tsa_latency = Histogram("promptstamp_tsa_request_duration_seconds", "RFC 3161 request latency",
                                     ["tsa"], buckets=_LATENCY_BUCKETS, registry=r)
        self.drift_records = Counter("promptstamp_drift_records",
                                     "Drift records (capture gaps the extension evidenced) sealed, by site and adapter",
                                     ["site", "adapter"], registry=r)
        # livesum: the total over running workers; a dead worker's batches are recovered by the others.
        self.pending_batches = Gauge("promptstamp_pending_batches", "Batches waiting for any TSA to answer",
                                     registry=r, multiprocess_mode="livesum")
        self.pending_records = Gauge("promptstamp_pending_records",
                                     "Acknowledged records whose batch has no time-stamp yet",
                                     registry=r, multiprocess_mode="livesum")

    @contextmanager
    def tsa_call(self, tsa: str) -> Iterator[None]:
        """Count and time one TSA request; an exception counts as a failure and propagates."""
        self.tsa_requests.labels(tsa).inc()
        started = perf_counter()
        try:
            yield
        except BaseException:
            self.tsa_failures.labels(tsa).inc()
            raise
        finally:
            self.tsa_latency.labels(tsa).observe(perf_counter() - started)

    def batch_sealed(self, size: int) -> None:
        self.batch_size.observe(size)
        self.records_sealed.inc(size)

    def drift_sealed(self, site: str, adapter: str) -> None:
        self.drift_records.labels(site, adapter).inc()

    def pending_changed(self, batches: int, records: int) -> None:
        """Deltas, not totals: several sealers may share a process (tests) and each adds its own."""
        self.pending_batches.inc(batches)
        self.pending_records.inc(records)

    def request_done(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(method, endpoint, str(status)).inc()
        self.latency.labels(method, endpoint).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type: all workers' values in multiprocess mode."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self._registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST


@functools.cache
def process_metrics() -> Metrics:
    """This process's metrics, created on first use; a forked worker inherits them and prometheus_client
    moves their values to the worker's own files."""
    return Metrics()


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample in a text exposition (for tests and the benchmark); 0 when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                total += sample.value
    return total
