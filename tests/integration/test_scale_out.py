"""Scale-out on a real multi-node store: two service instances (separate processes, two workers each)
on one SeaweedFS cluster (master, three volume servers, filer, S3; replication 001).

Every receipt acknowledged by either instance is read back and verified through the other; then one
volume server is killed and the test shows what still works: every acknowledged record and receipt
reads back unchanged through both instances, bundles still verify, and new records are still taken.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from factories import Chain, trusted_but_for_the_dev_tsa
from promptstamp import tokens
from promptstamp.canonical import digest_bytes
from promptstamp.merkle import verify_inclusion
from promptstamp.model import Receipt
from promptstamp.signing import PublicKey, public_key_from_pem, unb64
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))

from instances import Instance, create_account, running_instance  # noqa: E402
from seaweedfs_cluster import Cluster, running_cluster  # noqa: E402

pytestmark = [pytest.mark.s3, pytest.mark.cluster]

THREADS = 2
POSTS_PER_THREAD = 3
ARRAY = 4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


def request(inst: Instance, method: str, path: str, token: str, body: Any = None) -> tuple[int, bytes]:
    conn = inst.connection()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post(inst: Instance, token: str, records: list[dict[str, Any]]) -> dict[str, bytes]:
    """Post an array; returns record id -> the receipt the instance acknowledged (its JCS bytes)."""
    status, body = request(inst, "POST", "/v1/records", token, records)
    assert status == 201, body[:300]
    out = {}
    for result in json.loads(body)["results"]:
        out[result["record_id"]] = Receipt.from_json(result["receipt"]).canonical()
    return out


def check_receipt(inst: Instance, token: str, record_id: str, acknowledged: bytes, key: PublicKey) -> None:
    """Read the receipt through ``inst``: same bytes as acknowledged, signature, inclusion, token over root."""
    status, stored = request(inst, "GET", f"/v1/records/{record_id}/receipt", token)
    assert status == 200, stored[:200]
    assert stored == acknowledged
    receipt = Receipt.from_json(json.loads(stored))
    key.verify(receipt.signed_bytes(), unb64(receipt.sig, "sig"))
    status, body = request(inst, "GET", f"/v1/batches/{receipt.batch.id}", token)
    assert status == 200
    batch = json.loads(body)
    assert batch["status"] == "stamped" and batch["root"] == receipt.batch.root
    root = digest_bytes(receipt.batch.root)
    verify_inclusion(digest_bytes(receipt.record), receipt.batch.index, receipt.batch.size,
                     [bytes.fromhex(p) for p in receipt.batch.proof], root)
    assert all(tokens.token_info(base64.b64decode(t["token"])).imprint == root for t in batch["tokens"])


def service_key(inst: Instance, token: str) -> tuple[PublicKey, str]:
    status, body = request(inst, "GET", "/v1/keys", token)
    assert status == 200
    keys = json.loads(body)
    current = next(k for k in keys["keys"] if k["current"])
    return PublicKey(public_key_from_pem(current["pem"])), current["pem"]


def bundle_verifies(inst: Instance, token: str, chain: Chain, trust: Trust, records: int) -> None:
    status, data = request(inst, "GET", f"/v1/sessions/{chain.site}/{chain.session_id}/bundle", token)
    assert status == 200, data[:300]
    report = check_bundle(data, trust)
    assert trusted_but_for_the_dev_tsa(report), report.text()
    assert report.facts["records"] == records


def test_two_instances_share_the_cluster_and_survive_a_volume_server_loss(
        cluster: Cluster, dev_tsa: Any, tmp_path: Path) -> None:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **cluster.env(),
            "PROMPTSTAMP_KEY_FILE": str(tmp_path / "service.key"),  # one key for the deployment, as a Secret
            "PROMPTSTAMP_TSA": f"dev={dev_tsa.url}|{dev_tsa.ca_file}", "PROMPTSTAMP_BATCH_WINDOW_MS": "50",
            "PROMPTSTAMP_RETRY_INTERVAL_S": "1"}
    token = create_account({**base, "PROMPTSTAMP_DATA": str(tmp_path / "admin")}, "scale")
    with running_instance("a", {**base, "PROMPTSTAMP_DATA": str(tmp_path / "a")}, tmp_path) as a, \
            running_instance("b", {**base, "PROMPTSTAMP_DATA": str(tmp_path / "b")}, tmp_path) as b:
        key, key_pem = service_key(a, token)
        assert service_key(b, token)[0].raw == key.raw
        trust = Trust.build(tokens.load_pem_certificates(dev_tsa.root_pem), [key_pem])

        # One session whose steps alternate between the instances, and concurrent traffic on both.
        shared = Chain()
        acknowledged: dict[str, tuple[str, bytes]] = {}
        for i in range(4):
            inst = (a, b)[i % 2]
            for rid, receipt in post(inst, token, [shared.next(text=f"shared step {i}")]).items():
                acknowledged[rid] = (inst.name, receipt)

        def traffic(job: int) -> list[tuple[str, str, bytes]]:
            inst, chain, out = (a, b)[job % 2], Chain(), []
            for n in range(POSTS_PER_THREAD):
                got = post(inst, token, [chain.next(text=f"job {job} post {n}") for _ in range(ARRAY)])
                out += [(rid, inst.name, r) for rid, r in got.items()]
            return out

        with ThreadPoolExecutor(2 * THREADS) as pool:
            for batch in pool.map(traffic, range(2 * THREADS)):
                acknowledged.update({rid: (name, r) for rid, name, r in batch})
        assert len(acknowledged) == 4 + 2 * THREADS * POSTS_PER_THREAD * ARRAY
        assert {name for name, _ in acknowledged.values()} == {"a", "b"}

        # Every receipt, through the instance that did not issue it.
        other = {"a": b, "b": a}
        for rid, (name, receipt) in acknowledged.items():
            check_receipt(other[name], token, rid, receipt, key)
        for inst in (a, b):
            bundle_verifies(inst, token, shared, trust, records=4)

        # A volume server crashes (SIGKILL, no goodbye). Replication 001 kept a copy of everything.
        assert len(cluster.data_nodes()) == 3
        replicas: dict[int, set[str]] = {}
        for v in cluster.volumes():
            replicas.setdefault(v["Id"], set()).add(v["Server"])
        assert replicas and all(len(servers) == 2 for servers in replicas.values()), replicas
        cluster.stop("volume2", kill=True)
        lost = f"127.0.0.1:{cluster.ports['volume2']}"
        assert any(lost in servers for servers in replicas.values()), "volume2 held data before the loss"

        # Reads: every acknowledged receipt, through both instances, byte for byte.
        for rid, (_, receipt) in acknowledged.items():
            for inst in (a, b):
                check_receipt(inst, token, rid, receipt, key)
        for inst in (a, b):
            bundle_verifies(inst, token, shared, trust, records=4)

        # Writes: new records are still taken and stamped (volumes on the two live servers take them).
        started = time.monotonic()
        for i in range(2):
            inst = (a, b)[i % 2]
            for rid, receipt in post(inst, token, [shared.next(text=f"after the loss {i}")]).items():
                check_receipt(other[inst.name], token, rid, receipt, key)
        assert time.monotonic() - started < 20
        for inst in (a, b):
            bundle_verifies(inst, token, shared, trust, records=6)
        assert len(cluster.data_nodes()) == 2

    for inst in (a, b):  # nothing failed on the service side during the loss
        errors = [line for line in inst.log_lines() if '"level": "error"' in line]
        assert not errors, errors[:3]
