"""A full or read-only store answers 503 with the reason and no server path, and acknowledges nothing.

The store lives on a real tmpfs of a few hundred KiB (mounting needs root, as CI has); the disk is
filled, then remounted read-only, under a running app."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import Chain
from promptstamp.config import Settings
from promptstamp.services import build_services
from promptstamp.web import create_app


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_then_read_only_store_answers_503_without_paths(small_disk: Path, tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data", storage_url=f"file://{small_disk}/store",
                                       batch_window_ms=10, retry_interval_s=3600), recover=False, upkeep=False)
    try:
        app = create_app(services=services)
        _, token = services.accounts.create("alice")
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        chain = Chain()
        assert client.post("/v1/records", json=chain.next(text="before"), headers=auth).status_code == 201
        filler = small_disk / "filler"
        with filler.open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        full = client.post("/v1/records", json=Chain().next(text="x" * 200_000), headers=auth)
        assert full.status_code == 503, full.get_json()
        body = full.get_json()
        assert body["error"] == "storage_unavailable" and "full" in body["detail"]
        assert str(small_disk) not in full.get_data(as_text=True) and "/" not in body["detail"]
        assert full.headers["Retry-After"]
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        read_only = client.post("/v1/records", json=Chain().next(text="after"), headers=auth)
        assert read_only.status_code == 503, read_only.get_json()
        assert "read-only" in read_only.get_json()["detail"]
        assert str(small_disk) not in read_only.get_data(as_text=True)
        # What was acknowledged before is still there.
        listed = client.get(f"/v1/sessions/chatgpt/{chain.session_id}", headers=auth)
        assert listed.status_code == 200 and len(listed.get_json()["records"]) == 1
    finally:
        services.close()
