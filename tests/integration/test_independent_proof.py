"""Independent proof: the service on SeaweedFS with OpenSSL's TSA, every receipt and token checked with
openssl alone (tools we did not write)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from flask import Flask

from conftest import Api
from factories import Chain, Device, attachment, png
from openssl_tsa import OpenSslTsa
from promptstamp import layout
from promptstamp.canonical import canonicalize
from promptstamp.config import Settings
from promptstamp.services import Services, build_services
from promptstamp.web import create_app
from seaweed import SeaweedFS

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_services(tmp_path: Path, seaweedfs: SeaweedFS, make_bucket: Callable[[bool], str],
                openssl_tsa: OpenSslTsa) -> Iterator[Services]:
    settings = Settings(
        data_dir=tmp_path, storage_url=f"s3://{make_bucket(True)}/evidence", s3_endpoint=seaweedfs.endpoint,
        s3_region=seaweedfs.region, s3_access_key=seaweedfs.access_key, s3_secret_key=seaweedfs.secret_key,
        s3_lock_days=1, batch_window_ms=50, retry_interval_s=3600,
        tsas=(openssl_tsa.config("openssl-rsa", "tsa_rsa"), openssl_tsa.config("openssl-ec", "tsa_ec")),
    )
    svc = build_services(settings)
    yield svc
    svc.close()


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True)


def sha256_openssl(data: bytes, tmp: Path) -> bytes:
    (tmp / "node").write_bytes(data)
    out = subprocess.run(["openssl", "dgst", "-sha256", "-binary", str(tmp / "node")], capture_output=True, check=True)
    return out.stdout


def walk_proof_with_openssl(record_digest_hex: str, index: int, size: int, proof: list[str], tmp: Path) -> str:
    """RFC 9162 §2.1.3.2, every hash computed by `openssl dgst`."""
    node = sha256_openssl(b"\x00" + bytes.fromhex(record_digest_hex), tmp)
    fn, sn = index, size - 1
    for sibling_hex in proof:
        sibling = bytes.fromhex(sibling_hex)
        if fn % 2 == 1 or fn == sn:
            node = sha256_openssl(b"\x01" + sibling + node, tmp)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = sha256_openssl(b"\x01" + node + sibling, tmp)
        fn >>= 1
        sn >>= 1
    return "sha256:" + node.hex()


def test_session_on_seaweedfs_with_openssl_tsa_verifies_with_openssl_alone(
        s3_services: Services, openssl_tsa: OpenSslTsa, seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    app: Flask = create_app(services=s3_services)
    account, token = s3_services.accounts.create("creator")
    api = Api(app.test_client(), token, account.id)
    device = Device()
    assert device.pair(api, "laptop").status_code == 201
    image = png(4, 4, (10, 200, 90))
    att = attachment(image)
    assert api.put(f"/v1/blobs/{att['digest']}", image, "image/png").status_code == 201
    chain = Chain(site="midjourney", device=device)
    records = [
        chain.next("prompt", text="a lighthouse in fog --ar 16:9 --v 7"),
        chain.next("parameters", params={"aspect_ratio": "16:9", "version": "7", "seed": 42}),
        chain.next("output", actor="ai", attachments=[att], refs={"job_id": "job-1"}),
        chain.next("edit", text="a lighthouse in fog at dawn --ar 16:9 --v 7"),
        chain.next("output", actor="ai", text="four variations ready"),
        chain.next("selection", refs={"job_id": "job-1"}, text="image 2 of the grid"),
        chain.next("note", text="dawn light was the point"),
    ]
    results = [api.post("/v1/records", device.envelope(records[0])).get_json()]
    response = api.post("/v1/records", [device.envelope(r) for r in records[1:]])
    assert response.status_code == 201
    results += response.get_json()["results"]
    keys = {k["key"]: k["pem"] for k in api.client.get("/v1/keys").get_json()["keys"]}
    batches: dict[str, dict[str, object]] = {}
    for record, result in zip(records, results, strict=True):
        receipt = result["receipt"]
        assert receipt["device_key"] == device.id
        # 1. The receipt signature, with openssl pkeyutl over the JCS bytes of the receipt without sig.
        (tmp_path / "key.pem").write_text(keys[receipt["key"]])
        (tmp_path / "receipt").write_bytes(canonicalize({k: v for k, v in receipt.items() if k != "sig"}))
        (tmp_path / "sig").write_bytes(base64.b64decode(receipt["sig"]))
        out = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.pem"), "-rawin",
                      "-in", str(tmp_path / "receipt"), "-sigfile", str(tmp_path / "sig"))
        assert "Signature Verified Successfully" in out.stdout, out.stderr
        # 2. The record digest is sha256 of the record's canonical bytes.
        assert receipt["record"] == "sha256:" + hashlib.sha256(canonicalize(record)).hexdigest()
        # 3. The inclusion proof, walked with openssl dgst, reaches the batch root.
        b = receipt["batch"]
        assert walk_proof_with_openssl(receipt["record"][7:], b["index"], b["size"], b["proof"], tmp_path) == b["root"]
        batches[b["id"]] = b
    assert len(batches) == 2  # the single post and the array post
    for batch_id, b in batches.items():
        batch = api.get(f"/v1/batches/{batch_id}").get_json()
        assert batch["root"] == b["root"] and {t["tsa"] for t in batch["tokens"]} == {"openssl-rsa", "openssl-ec"}
        for tok in batch["tokens"]:
            # 4. Each batch token, with openssl ts -verify against the batch root.
            (tmp_path / "token.tst").write_bytes(base64.b64decode(tok["token"]))
            (tmp_path / "chain.pem").write_text(tok["chain"])
            out = openssl("ts", "-verify", "-token_in", "-in", str(tmp_path / "token.tst"), "-digest",
                          str(b["root"])[7:], "-CAfile", str(openssl_tsa.root_pem),
                          "-untrusted", str(tmp_path / "chain.pem"))
            assert "Verification: OK" in out.stdout, out.stdout + out.stderr
            assert tok["untrusted"] is False
    # The evidence is in the locked bucket: the batch pack holding the record cannot be deleted while its
    # retention runs.
    client = seaweedfs.client()
    bucket, prefix = s3_services.settings.s3_bucket_and_prefix
    first_batch = api.get(f"/v1/records/{records[0]['id']}").get_json()["batch"]
    key = f"{prefix}/{layout.pack(first_batch)}"
    versions = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    with pytest.raises(ClientError):
        client.delete_object(Bucket=bucket, Key=key, VersionId=versions[0]["VersionId"])
    assert canonicalize(records[0]) in client.get_object(Bucket=bucket, Key=key)["Body"].read()
