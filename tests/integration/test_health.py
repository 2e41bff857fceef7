"""``/healthz`` answers the same from every worker: the store, each TSA's recent answers (with the
error of a failing one), and the pending batches summed over the workers; "degraded" once a TSA has
failed for longer than the retry interval. Run as a real process with two gunicorn workers."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from factories import Chain
from promptstamp.devtsa import DevTsa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))

from instances import Instance, create_account, free_port, running_instance  # noqa: E402


def _health(inst: Instance) -> tuple[int, dict[str, object]]:
    conn = inst.connection()  # a new connection each time, so both workers answer some
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_health_is_consistent_across_workers_and_names_a_failing_tsa(tmp_path: Path, dev_tsa: DevTsa) -> None:
    dead_port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PROMPTSTAMP_DATA": str(tmp_path / "data"), "PROMPTSTAMP_BATCH_WINDOW_MS": "20",
           "PROMPTSTAMP_TSA": f"down=http://127.0.0.1:{dead_port}/|{dev_tsa.ca_file}", "PROMPTSTAMP_WORKERS": "2",
           "PROMPTSTAMP_THREADS": "8", "PROMPTSTAMP_RETRY_INTERVAL_S": "1"}
    token = create_account(env, "ops")
    with running_instance("health", env, tmp_path) as inst:
        def post(i: int) -> int:
            conn = inst.connection()
            conn.request("POST", "/v1/records", body=json.dumps(Chain().next(text=f"post {i}")),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            status = conn.getresponse().status
            conn.close()
            return status

        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(post, range(8))) == {202}  # acknowledged, waiting for a TSA
        time.sleep(2.5)  # longer than the retry interval: the TSA has now failed "for a while"
        answers = [_health(inst) for _ in range(12)]
        pendings = {body["pending_batches"] for _, body in answers}
        assert len(pendings) == 1 and pendings.pop() >= 1  # one figure, whichever worker answered
        for status, body in answers:
            assert status == 200 and body["status"] == "degraded"
            [tsa] = body["tsas"]  # type: ignore[misc]
            assert tsa["name"] == "down" and tsa["state"] == "failing" and tsa["last_error"]
            assert any("TSA down has failed" in p for p in body["problems"])  # type: ignore[union-attr]
            assert body["store"] == {"backend": body["storage"], "reachable": True}
            [check] = body["tsa_startup_checks"]  # type: ignore[misc]
            assert check["ok"] is False
