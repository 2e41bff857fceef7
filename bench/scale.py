"""Scale-out benchmark: ingest throughput with one and with two service instances on a local multi-node
SeaweedFS cluster (master, three volume servers, filer, S3; replication 001), and object-store
requests per record.

Each instance is a separate ``promptstamp serve`` (2 gunicorn workers) with its own data directory
and the deployment's one signing key; all state is in the cluster. Clients post arrays of
``ARRAY`` records, ``CLIENTS`` clients per instance. On a small machine the
instances, the clients, the TSA and six weed processes share the same cores, so the two-instance
figure shows the cost of the shared store more than the gain of a second host.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "infra" / "local"))

import ingest  # noqa: E402
from seaweedfs_cluster import running_cluster  # noqa: E402

# Fewer clients and smaller arrays than the single-store benchmark: six weed processes replicate
# every write here, and the point is throughput at a latency a client would accept.
CLIENTS = int(os.environ.get("BENCH_SCALE_CLIENTS", "4"))
ARRAY = int(os.environ.get("BENCH_SCALE_ARRAY", "50"))
PREBUILT_PER_INSTANCE = 2_000  # records per second of the run, more than one instance takes here


def _run_instances(count: int, cluster_env: dict[str, str], tsa: ingest.CountingTsa, work: Path
                   ) -> tuple[int, float, list[float], int]:
    """Start ``count`` instances, load them all at once; returns records, seconds, latencies, TSA requests."""
    shared = {**cluster_env, "PROMPTSTAMP_KEY_FILE": str(work / f"key-{count}" / "service.key"),
              "PROMPTSTAMP_BATCH_WINDOW_MS": str(ingest.WINDOW_MS)}
    with ExitStack() as stack:
        services = []
        for i in range(count):  # one after the other: the first creates the deployment's key
            data = work / f"x{count}-{i}"
            data.mkdir(parents=True)
            services.append(stack.enter_context(ingest.running_service(data, tsa, shared)))
        results: list[ingest.Figures] = []
        lock = threading.Lock()
        loads = [ingest.prebuild(ARRAY, CLIENTS, int(PREBUILT_PER_INSTANCE * ingest.DURATION)) for _ in services]

        def load(port: int, token: str, bodies: ingest.Load) -> None:
            figures = ingest.run_clients(port, token, ARRAY, bodies, tsa)
            with lock:
                results.append(figures)

        before = tsa.requests
        started = time.monotonic()
        threads = [threading.Thread(target=load, args=(*svc, bodies))
                   for svc, bodies in zip(services, loads, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        if len(results) != count:
            raise RuntimeError("a load generator failed; see the instance logs")
        latencies = [x for f in results for x in f.latencies]
        return sum(f.records for f in results), seconds, latencies, tsa.requests - before


def run(print_fn: Callable[[str], None] = print) -> None:
    print_fn(f"scale-out: SeaweedFS cluster (1 master, 3 volume servers, filer, S3, replication 001) on loopback; "
             f"each instance 2 workers x {ingest.THREADS} threads; {CLIENTS} clients per instance "
             f"posting arrays of {ARRAY}; {ingest.DURATION:.0f} s per case; {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tsa = ingest.CountingTsa(work / "tsa")
        with running_cluster(work / "cluster") as cluster:
            for count in (1, 2):
                records, seconds, latencies, tsa_requests = _run_instances(count, cluster.env(), tsa, work)
                figures = ingest.Figures(records, seconds, latencies, tsa_requests)
                rows.append((count, figures))
                print_fn(f"  measured {count} instance(s): {figures.rate:.0f} records/s")
            overrides = {"storage_url": f"s3://{cluster.bucket}", "s3_endpoint": cluster.endpoint,
                         "s3_access_key": cluster.access_key, "s3_secret_key": cluster.secret_key}
            ops_array = ingest.store_requests_per_record(overrides, ARRAY)
            ops_single = ingest.store_requests_per_record(overrides, 1)
        tsa.server.shutdown()
    print_fn("")
    print_fn(f"{'instances':<10} {'records/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'TSA req/1000':>13}")
    for count, f in rows:
        print_fn(f"{count:<10} {f.rate:>10.0f} {f.pct(0.5):>8.0f} {f.pct(0.99):>8.0f} {f.tsa_per_1000:>13.1f}")
    print_fn(f"two / one instance: {rows[1][1].rate / rows[0][1].rate:.2f}x")
    print_fn(f"object-store requests per record (SeaweedFS cluster, counted by the store): arrays of "
             f"{ARRAY}: {ops_array:.2f}; single-record posts: {ops_single:.2f}")


if __name__ == "__main__":
    run()
