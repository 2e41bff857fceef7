"""Abusive verification uploads against the real service under gunicorn, measured from outside.

Eight uploads in flight at once (four ZIP bombs: 1.0 MB expanding to 1 GiB; four token bombs: a real
bundle of the service with one token repeated over 2,000 extra batches), while an account posts a
record. Reported: each upload's answer and time, the record post's latency while they are in flight,
and the RSS of the whole service (gunicorn master, workers, the verifier's forkservers and children,
read from /proc) before and at its peak. No thresholds here: the figures are printed for the README.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from ingest import CountingTsa, running_service  # noqa: E402

from bombs import token_bomb, zip_bomb  # noqa: E402
from factories import Chain  # noqa: E402

UPLOADS = int(os.environ.get("BENCH_ABUSE_UPLOADS", "8"))
COPIES = int(os.environ.get("BENCH_ABUSE_COPIES", "2000"))
UNDER_LIMIT = int(os.environ.get("BENCH_ABUSE_UNDER_LIMIT", "900"))


def tree_pids(root: int) -> list[int]:
    """``root`` and every process descended from it (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def rss_bytes(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def request(port: int, method: str, path: str, token: str, body: bytes = b"",
            content_type: str = "application/json", timeout: float = 120) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    conn.request(method, path, body=body or None,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.monotonic() - started
    conn.close()
    return response.status, data, elapsed


def multipart(upload: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + upload + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def service_bundle(port: int, token: str) -> bytes:
    chain = Chain(site="chatgpt")
    for _ in range(3):
        status, data, _ = request(port, "POST", "/v1/records", token, json.dumps(chain.next(text="a cat")).encode())
        if status not in (201, 202):
            raise RuntimeError(f"record post failed: {status} {data[:200]!r}")
    status, data, _ = request(port, "GET", f"/v1/sessions/chatgpt/{chain.session_id}/bundle", token)
    if status != 200:
        raise RuntimeError(f"bundle export failed: {status} {data[:200]!r}")
    return data


def run(say: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory() as td:
        tsa = CountingTsa(Path(td) / "tsa")
        with running_service(Path(td) / "data", tsa, {}) as (port, token):
            proc_pid = _service_pid(port)
            bundle = service_bundle(port, token)
            bombs = {"zip bomb": zip_bomb(1 << 30), "token bomb": token_bomb(bundle, COPIES)}
            for name, data in bombs.items():
                say(f"{name}: {len(data):,} bytes uploaded")
            # Warm-up: one honest verification per worker starts its forkserver (kept for the service's life).
            for _ in range(4):
                body, ctype = multipart(bundle, "evidence.asice")
                request(port, "POST", "/v1/verify", token, body, ctype)
            time.sleep(1)
            before = rss_bytes(proc_pid)
            peak = [before]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_bytes(proc_pid))
                    time.sleep(0.05)

            answers: list[tuple[str, int, float, str]] = []
            lock = threading.Lock()

            def upload(kind: str) -> None:
                body, ctype = multipart(bombs[kind], kind.replace(" ", "-") + ".asice")
                status, data, elapsed = request(port, "POST", "/v1/verify", token, body, ctype)
                try:
                    parsed = json.loads(data)
                    what = parsed.get("detail") or parsed.get("verdict") or ""
                except ValueError:
                    what = data[:120].decode("utf-8", "replace")
                with lock:
                    answers.append((kind, status, elapsed, str(what)[:110]))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            kinds = [("zip bomb", "token bomb")[i % 2] for i in range(UPLOADS)]
            threads = [threading.Thread(target=upload, args=(k,)) for k in kinds]
            for t in threads:
                t.start()
            time.sleep(0.5)  # every upload is in flight (the token bombs verify for seconds)
            chain = Chain(site="chatgpt")
            status, _, post_latency = request(port, "POST", "/v1/records", token,
                                              json.dumps(chain.next(text="while under attack")).encode())
            for t in threads:
                t.join()
            done.set()
            sampler.join()
            for kind, code, elapsed, what in sorted(answers):
                say(f"  {kind:10} HTTP {code} in {elapsed:5.1f} s: {what}")
            say(f"record post while {UPLOADS} uploads were in flight: HTTP {status} in {post_latency * 1000:.0f} ms")
            say(f"service RSS (all processes): {before / 2**20:.0f} MB before, {peak[0] / 2**20:.0f} MB at peak, "
                f"growth {(peak[0] - before) / 2**20:.0f} MB")
            # Under the batch limit a token bomb is verified in full: each distinct token once.
            body, ctype = multipart(token_bomb(bundle, UNDER_LIMIT), "token-bomb-under-limit.asice")
            status, data, elapsed = request(port, "POST", "/v1/verify", token, body, ctype)
            say(f"token bomb of {UNDER_LIMIT} copies (under the batch limit), alone: HTTP {status} in {elapsed:.1f} s: "
                f"{json.loads(data).get('verdict') or json.loads(data).get('detail')}")


def _service_pid(port: int) -> int:
    """The gunicorn master listening on ``port`` (the parent of the processes that serve it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and b"--port" in cmd and cmd[cmd.index(b"--port") + 1] == str(port).encode():
            return int(entry.name)
    raise RuntimeError(f"no service process for port {port}")


if __name__ == "__main__":
    run(lambda line: print(line, flush=True))
