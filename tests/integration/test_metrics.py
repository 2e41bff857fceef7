"""Operations: /metrics totals over several gunicorn workers, TSA figures, pending records, JSON logs.

The service runs as a real process (``promptstamp serve`` with the container's gunicorn config file
and two workers), so the totals are checked where a per-process counter would get them wrong.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import make_services
from factories import Chain
from promptstamp.config import TsaConfig
from promptstamp.devtsa import DevTsa
from promptstamp.metrics import process_metrics, sample_value
from promptstamp.web import create_app

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "local"))

from instances import Instance, create_account, free_port, running_instance  # noqa: E402

GUNICORN_CONF = ROOT / "infra" / "docker" / "gunicorn.conf.py"
POSTS = 24


def _get(inst: Instance, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = inst.connection()
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_metrics_sum_over_workers_and_logs_carry_request_ids(tmp_path: Path, dev_tsa: DevTsa) -> None:
    dead = f"dead=http://127.0.0.1:{free_port()}/"  # nothing listens: every request to it fails
    env = {"PATH": "/usr/bin:/bin", "PROMPTSTAMP_DATA": str(tmp_path / "data"), "PROMPTSTAMP_BATCH_WINDOW_MS": "20",
           "PROMPTSTAMP_TSA": f"dev={dev_tsa.url}|{dev_tsa.ca_file} {dead}", "PROMPTSTAMP_WORKERS": "2",
           "PROMPTSTAMP_THREADS": "8"}
    token = create_account(env, "ops")
    with running_instance("ops", env, tmp_path, extra_args=("--gunicorn-config", str(GUNICORN_CONF))) as inst:
        def post(i: int) -> tuple[int, str]:
            conn = inst.connection()  # a new connection each time, so both workers take some
            # Every third post is a drift record (a capture gap the extension evidenced), counted per adapter.
            record = Chain().next(text=f"post {i}") if i % 3 else Chain().next(
                "drift", text=f"gap {i}", params={"code": "no-answer", "adapter": "chatgpt@2"})
            body = json.dumps(record)
            conn.request("POST", "/v1/records", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Request-Id": f"req-{i}"})
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status, response.getheader("X-Request-Id") or ""

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(POSTS)))
        assert [status for status, _ in answers] == [201] * POSTS  # stamped by "dev" though "dead" failed
        assert [rid for _, rid in answers] == [f"req-{i}" for i in range(POSTS)]

        # Every scrape lands on some worker; each must report the same totals for all of them.
        scrapes = {_get(inst, "/metrics")[2].decode() for _ in range(10)}
        for text in scrapes:
            labels = {"endpoint": "/v1/records", "method": "POST", "status": "201"}
            assert sample_value(text, "promptstamp_http_requests_total", labels) == POSTS
            assert sample_value(text, "promptstamp_http_request_duration_seconds_count",
                                {"endpoint": "/v1/records"}) == POSTS
            assert sample_value(text, "promptstamp_records_sealed_total") == POSTS
            assert sample_value(text, "promptstamp_drift_records_total",
                                {"site": "chatgpt", "adapter": "chatgpt@2"}) == POSTS // 3
            batches = sample_value(text, "promptstamp_batch_size_records_count")
            assert 1 <= batches <= POSTS
            assert sample_value(text, "promptstamp_batch_size_records_sum") == POSTS
            assert sample_value(text, "promptstamp_tsa_requests_total", {"tsa": "dev"}) == batches
            assert sample_value(text, "promptstamp_tsa_failures_total", {"tsa": "dev"}) == 0
            assert sample_value(text, "promptstamp_tsa_failures_total", {"tsa": "dead"}) == batches
            assert sample_value(text, "promptstamp_tsa_request_duration_seconds_count", {"tsa": "dev"}) == batches
            assert sample_value(text, "promptstamp_pending_records") == 0
        status, headers, _ = _get(inst, "/healthz", {"X-Request-Id": "not a valid id!"})
        assert status == 200 and len(headers["X-Request-Id"]) == 32  # replaced by a fresh one

    lines = [json.loads(line) for line in inst.log_lines() if line.startswith("{")]
    assert lines, "expected JSON log lines"
    access = [line for line in lines if line["logger"] == "promptstamp.access" and line["path"] == "/v1/records"]
    assert sorted(line["request_id"] for line in access) == sorted(f"req-{i}" for i in range(POSTS))
    assert all(line["status"] == 201 and line["duration_ms"] > 0 for line in access)
    assert len({line["pid"] for line in access}) == 2, "expected both workers to serve posts"
    assert any(line["level"] == "warning" and line.get("tsa") == "dead" for line in lines)


def test_pending_records_gauge_follows_unstamped_batches(tmp_path: Path) -> None:
    down = TsaConfig(name="down", url=f"http://127.0.0.1:{free_port()}/", timeout=2)
    svc = make_services(tmp_path, tsas=(down,))
    try:
        client = create_app(services=svc).test_client()
        _, token = svc.accounts.create("ops")
        before = process_metrics().exposition()[0].decode()
        chain = Chain()
        response = client.post("/v1/records", json=[chain.next(text=f"s{i}") for i in range(5)],
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202  # acknowledged, not yet time-stamped
        text = client.get("/metrics").get_data(as_text=True)

        def delta(name: str, labels: dict[str, str] | None = None) -> float:
            return sample_value(text, name, labels) - sample_value(before, name, labels)

        assert delta("promptstamp_pending_records") == 5
        assert delta("promptstamp_pending_batches") == 1
        assert delta("promptstamp_tsa_failures_total", {"tsa": "down"}) == 1
    finally:
        svc.close()
    # A closed sealer no longer holds the batch: the next start's recovery takes it over and counts it.
    after = process_metrics().exposition()[0].decode()
    assert sample_value(after, "promptstamp_pending_records") == sample_value(before, "promptstamp_pending_records")
