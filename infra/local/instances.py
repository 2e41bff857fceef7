"""Run PromptStamp service instances as separate processes (``promptstamp serve``) on loopback ports.

Used by the multi-instance tests and the scale benchmark, and handy by hand: each instance is a
whole deployment unit (gunicorn master plus workers), configured only through PROMPTSTAMP_*
variables, exactly as a container would be.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 30.0


def promptstamp_binary() -> Path:
    return Path(sys.executable).parent / "promptstamp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Instance:
    name: str
    host: str
    port: int
    log_file: Path
    pid: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connection(self, timeout: float = 60.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def log_lines(self) -> list[str]:
        return self.log_file.read_text(errors="replace").splitlines()


def create_account(env: Mapping[str, str], name: str) -> str:
    """An account in the store the environment points at; returns its API token."""
    done = subprocess.run([str(promptstamp_binary()), "accounts", "create", name], env=dict(env), check=True,
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def _healthy(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _ready_workers(log_file: Path) -> int:
    text = log_file.read_text(errors="replace")
    return text.count('"message": "worker ready"') + text.count(" promptstamp.web: worker ready")


@contextmanager
def running_instance(name: str, env: Mapping[str, str], log_dir: Path, *, workers: int = 2, threads: int = 16,
                     extra_args: tuple[str, ...] = ()) -> Iterator[Instance]:
    """Start ``promptstamp serve`` with ``env`` (PROMPTSTAMP_*), wait for /healthz, stop it (SIGTERM) on exit."""
    port = free_port()
    log_file = log_dir / f"{name}.log"
    full_env = {**env, "PROMPTSTAMP_HOST": "127.0.0.1", "PROMPTSTAMP_PORT": str(port)}
    args = [str(promptstamp_binary()), "serve", "--workers", str(workers), "--threads", str(threads), *extra_args]
    with log_file.open("wb") as log:
        proc = subprocess.Popen(args, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        # Every worker must have finished its start-up (including recovery) before work arrives: a
        # worker that recovers while another seals would take over the other's in-flight batch.
        while not _healthy("127.0.0.1", port) or _ready_workers(log_file) < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"instance {name} did not answer /healthz (exit {proc.poll()}); log:\n{tail}")
            time.sleep(0.1)
        yield Instance(name=name, host="127.0.0.1", port=port, log_file=log_file, pid=proc.pid)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # SIGTERM to the gunicorn master: workers finish in-flight requests (graceful), then exit.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_TIMEOUT_S)
