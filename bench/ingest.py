"""Ingest benchmark: the real service under gunicorn, several concurrent clients, fs and SeaweedFS.

Each configuration runs the same workload against a fresh data directory:
  single  - every client posts one record per request
  array   - every client posts arrays of ARRAY records
and, in the same run, the baseline: batch size 1 (one TSA call per record). The TSA is the
built-in RFC 3161 responder served by this script, which counts the requests it answers, so
"TSA requests per 1,000 records" is measured at the TSA, not inferred.

Object-store requests per record are counted in-process by the store's own request counters
(gunicorn workers are separate processes), with the same ledger code and batch settings.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from factories import Chain  # noqa: E402
from promptstamp.devtsa import DevTsa  # noqa: E402
from promptstamp.storage.s3 import create_bucket  # noqa: E402
from seaweed import running_seaweedfs  # noqa: E402

# Single-record posts need many clients in flight to fill a batch; array posts need few.
SINGLE_CLIENTS = int(os.environ.get("BENCH_SINGLE_CLIENTS", "128"))
ARRAY_CLIENTS = int(os.environ.get("BENCH_ARRAY_CLIENTS", "16"))
THREADS = int(os.environ.get("BENCH_THREADS", "96"))
STORES = os.environ.get("BENCH_STORES", "fs,seaweedfs").split(",")
DURATION = float(os.environ.get("BENCH_SECONDS", "8"))
ARRAY = int(os.environ.get("BENCH_ARRAY", "200"))
WINDOW_MS = int(os.environ.get("BENCH_WINDOW_MS", "200"))
# Records built ahead of each timed run, shared among its clients: more than the service takes in DURATION.
PREBUILT_ARRAY_RECORDS = int(os.environ.get("BENCH_PREBUILT_ARRAY_RECORDS", str(int(15_000 * DURATION))))
PREBUILT_SINGLE_RECORDS = int(os.environ.get("BENCH_PREBUILT_SINGLE_RECORDS", str(int(2_000 * DURATION))))
BASELINE_PREBUILT_RECORDS = int(200 * DURATION)  # one TSA call per record: about 100 records/s


class CountingTsa:
    """The dev TSA over HTTP, counting the time-stamp requests it answers."""

    def __init__(self, directory: Path) -> None:
        self.tsa = DevTsa.load_or_create(directory)
        self.root_file = directory / "bench-root.pem"
        self.root_file.write_text(self.tsa.root_pem)
        self.requests = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = outer.tsa.respond(body)
                with lock:
                    outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Peak resident memory (VmHWM) of the busiest gunicorn worker of each service run, by data directory.
PEAK_WORKER_MIB: dict[str, float] = {}


def peak_worker_mib(master_pid: int) -> float:
    """The highest VmHWM among the master's child processes (Linux /proc), in MiB; 0 where unknown."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak / 1024


@contextmanager
def running_service(data: Path, tsa: CountingTsa, env_extra: dict[str, str]) -> Iterator[tuple[int, str]]:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PROMPTSTAMP_DATA": str(data), "PROMPTSTAMP_TSA": f"bench={tsa.url}|{tsa.root_file}",
           **env_extra}
    token = subprocess.run([str(bin_dir / "promptstamp"), "accounts", "create", "bench"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    port = free_port()
    log = open(data / "server.log", "w")
    proc = subprocess.Popen([str(bin_dir / "promptstamp"), "serve", "--port", str(port), "--workers", "2",
                             "--threads", str(THREADS)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"service did not start; see {data / 'server.log'}")
            time.sleep(0.2)
        yield port, token
    finally:
        PEAK_WORKER_MIB[str(data)] = peak_worker_mib(proc.pid)
        proc.terminate()
        proc.wait(30)
        log.close()


@dataclass
class Figures:
    records: int
    seconds: float
    latencies: list[float]
    tsa_requests: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    @property
    def tsa_per_1000(self) -> float:
        return self.tsa_requests * 1000 / max(1, self.records)


Load = list[tuple[Chain, list[bytes]]]  # per client: its session and the bodies it will post


def _body(chain: Chain, per_request: int) -> bytes:
    records = [chain.next(text="a watercolour cat in a teacup, soft light " * 3) for _ in range(per_request)]
    return json.dumps(records if per_request > 1 else records[0]).encode()


def prebuild(per_request: int, clients: int, records: int) -> Load:
    """Each client's session and about ``records / clients`` records of request bodies, built before a timed run.

    The clients share the service's two CPUs: built ahead, the figures measure the service rather than the
    benchmark's record factory (a client that runs out builds more as it goes, which only understates the
    service).
    """
    chains = [Chain(site="chatgpt") for _ in range(clients)]
    count = records // (clients * per_request)
    return [(chain, [_body(chain, per_request) for _ in range(count)]) for chain in chains]


def run_clients(port: int, token: str, per_request: int, load: Load, tsa: CountingTsa) -> Figures:
    latencies: list[float] = []
    counted = [0]
    lock = threading.Lock()
    errors: list[str] = []

    def client(chain: Chain, bodies: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        queued = iter(bodies)
        while time.monotonic() < stop_at:
            data = next(queued, None) or _body(chain, per_request)
            started = time.monotonic()
            conn.request("POST", "/v1/records", body=data, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.monotonic() - started
            if response.status not in (201, 202):
                errors.append(f"HTTP {response.status}")
                return
            with lock:
                latencies.append(elapsed)
                counted[0] += per_request

    before = tsa.requests
    stop_at = time.monotonic() + DURATION
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=pair) for pair in load]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    if errors:
        raise RuntimeError(f"benchmark requests failed: {errors[:3]}")
    return Figures(counted[0], seconds, latencies, tsa.requests - before)


def store_requests_per_record(settings_overrides: dict[str, Any], per_request: int) -> float:
    """Object-store requests per record for the ledger's ingest path, counted by the store itself.

    Concurrent clients, each its own session as in the load test: 32 posting single records (a
    batch then holds about 32 records of 32 sessions, a share of what 128 clients put in one), 4
    posting arrays. Few enough that one TSA call per record (the baseline) ends within a request's wait.
    """
    from promptstamp.config import Settings
    from promptstamp.services import build_services

    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(Settings(data_dir=Path(tmp), batch_window_ms=WINDOW_MS, **settings_overrides),
                             recover=False, upkeep=False)
        try:
            account, _ = svc.accounts.create("count")
            clients, posts = (32, 10) if per_request == 1 else (4, max(1, 200 // per_request))
            chains = [Chain() for _ in range(clients)]
            before = sum(svc.store.request_counts.values())

            def post(chain: Chain) -> None:
                for _ in range(posts):
                    records = [chain.next(text="x") for _ in range(per_request)]
                    # As the load test posts them: a single record alone, not in an array of one.
                    svc.ledger.ingest(account.id, records if per_request > 1 else records[0])

            threads = [threading.Thread(target=post, args=(c,)) for c in chains]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            total = clients * posts * per_request
            return (sum(svc.store.request_counts.values()) - before) / total
        finally:
            svc.close()


Row = tuple[str, str, str, Figures, float, float]


def measure(label_store: str, env: dict[str, str], tsa: CountingTsa, work: Path,
            overrides: dict[str, Any], print_fn: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    for batching, extra in (("batched", {"PROMPTSTAMP_BATCH_WINDOW_MS": str(WINDOW_MS)}),
                            ("baseline: batch size 1", {"PROMPTSTAMP_BATCH_MAX": "1",
                                                         "PROMPTSTAMP_BATCH_WINDOW_MS": "0"})):
        for shape, per_request in (("single", 1), ("array", ARRAY)):
            data = work / f"{label_store}-{batching[:8]}-{shape}"
            data.mkdir()
            with running_service(data, tsa, {**env, **extra}) as (port, token):
                clients = SINGLE_CLIENTS if per_request == 1 else ARRAY_CLIENTS
                if "baseline" in batching and per_request > 1:
                    # One TSA call per record makes every array request long; the rate is TSA-bound,
                    # so fewer clients measure it as well and keep the run short.
                    clients = max(1, ARRAY_CLIENTS // 8)
                prebuilt = ((PREBUILT_ARRAY_RECORDS if per_request > 1 else PREBUILT_SINGLE_RECORDS)
                            if batching == "batched" else BASELINE_PREBUILT_RECORDS)
                figures = run_clients(port, token, per_request, prebuild(per_request, clients, prebuilt), tsa)
            ops = store_requests_per_record({**overrides, **({"batch_max": 1} if "baseline" in batching else {})},
                                            per_request)
            rows.append((label_store, batching, shape, figures, ops, PEAK_WORKER_MIB.get(str(data), 0.0)))
            print_fn(f"  measured {label_store} {batching} {shape}: {figures.rate:.0f} records/s")
    return rows


def measure_seaweedfs(tsa: CountingTsa, work: Path, print_fn: Callable[[str], None]) -> list[Row]:
    """The same cases on a real SeaweedFS S3 server, in buckets with Object Lock."""
    with running_seaweedfs(work / "weed") as weed:
        def bucket(name: str) -> str:
            create_bucket(name, endpoint=weed.endpoint, region=weed.region, access_key=weed.access_key,
                          secret_key=weed.secret_key, object_lock=True)
            return name

        env = {"PROMPTSTAMP_STORAGE": f"s3://{bucket('bench')}", "PROMPTSTAMP_S3_ENDPOINT": weed.endpoint,
               "PROMPTSTAMP_S3_REGION": weed.region, "PROMPTSTAMP_S3_ACCESS_KEY": weed.access_key,
               "PROMPTSTAMP_S3_SECRET_KEY": weed.secret_key}
        overrides = {"storage_url": f"s3://{bucket('bench-count')}", "s3_endpoint": weed.endpoint,
                     "s3_region": weed.region, "s3_access_key": weed.access_key, "s3_secret_key": weed.secret_key}
        return measure("seaweedfs", env, tsa, work, overrides, print_fn)


def run(print_fn: Callable[[str], None] = print) -> None:
    print_fn(f"ingest: {SINGLE_CLIENTS} clients posting single records, {ARRAY_CLIENTS} clients posting arrays of "
             f"{ARRAY}; {DURATION:.0f} s per case; batch window {WINDOW_MS} ms; gunicorn 2 workers x {THREADS} "
             f"threads; {os.cpu_count()} CPUs; TSA: the built-in RFC 3161 responder on loopback")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tsa = CountingTsa(work / "tsa")
        rows = measure("fs", {}, tsa, work, {}, print_fn) if "fs" in STORES else []
        if "seaweedfs" in STORES:
            rows += measure_seaweedfs(tsa, work, print_fn)
        tsa.server.shutdown()
    print_fn("")
    print_fn(f"{'store':<10} {'mode':<24} {'posts':<7} {'records/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
             f"{'TSA req/1000':>13} {'store req/rec':>14} {'worker MiB':>11}")
    for store, batching, shape, f, ops, mib in rows:
        print_fn(f"{store:<10} {batching:<24} {shape:<7} {f.rate:>10.0f} {f.pct(0.5):>8.0f} {f.pct(0.99):>8.0f} "
                 f"{f.tsa_per_1000:>13.1f} {ops:>14.3f} {mib:>11.0f}")
    print_fn("")
    for store in dict.fromkeys(r[0] for r in rows):
        for shape in ("single", "array"):
            batched = next(r[3] for r in rows if r[0] == store and r[2] == shape and r[1] == "batched")
            base = next(r[3] for r in rows if r[0] == store and r[2] == shape and r[1] != "batched")
            print_fn(f"{store} {shape}: batched / baseline = {batched.rate / base.rate:.1f}x  "
                     f"(target >= 20x); p99 {batched.pct(0.99):.0f} ms vs 3 x window = {3 * WINDOW_MS} ms")
    targets = {"fs": 10_000, "seaweedfs": 2_000}
    for store, batching, shape, f, ops, mib in rows:
        if batching != "batched":
            continue
        if shape == "array":
            print_fn(f"{store} array posts: {f.rate:,.0f} records/s (target >= {targets.get(store, 0):,}); "
                     f"{ops:.3f} store requests per record (target <= 0.05); TSA requests per 1000 records "
                     f"{f.tsa_per_1000:.1f} (target <= 10); peak worker memory {mib:.0f} MiB")
        else:
            print_fn(f"{store} single posts: {ops:.3f} store requests per record (target <= 1.2); "
                     f"p99 {f.pct(0.99):.0f} ms (target <= {3 * WINDOW_MS} ms)")
    load = os.getloadavg()
    print_fn(f"load average during the run (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
             f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    run()
