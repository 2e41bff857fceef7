"""Every configured TSA stamps every batch, eventually: the batch is acknowledged when one answers, the
others are asked again (by the retry loop, or by recovery on any instance) until they answer or are
removed from the configuration. Real TSAs: OpenSSL's behind HTTP and the built-in one on a port that
is down at first."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from test_recovery import api_for, down_tsa

from conftest import Api, make_services
from factories import Chain
from openssl_tsa import OpenSslTsa
from promptstamp import layout
from promptstamp.config import TsaConfig
from promptstamp.devtsa import DevTsa
from promptstamp.services import Services


def post_one(api: Api, chain: Chain) -> tuple[dict[str, object], str]:
    record = chain.next(text="a step stamped by every TSA in the end")
    r = api.post("/v1/records", record)
    assert r.status_code == 201, r.get_json()  # one TSA answered: acknowledged as stamped
    return record, str(r.get_json()["receipt"]["batch"]["id"])


def batch_tsas(api: Api, batch_id: str) -> list[str]:
    return sorted(t["tsa"] for t in api.get(f"/v1/batches/{batch_id}").get_json()["tokens"])


def bundle_files(api: Api, chain: Chain) -> dict[str, bytes]:
    r = api.get(f"/v1/sessions/{chain.site}/{chain.session_id}/bundle?lang=en")
    try:
        assert r.status_code == 200
        data = r.data
    finally:
        r.close()  # the bundle is streamed from a temporary file the response closes
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_a_tsa_down_at_first_stamps_the_batch_when_it_returns(tmp_path: Path, openssl_tsa: OpenSslTsa) -> None:
    flaky, tsa, port = down_tsa(tmp_path)
    services = make_services(tmp_path / "data", tsas=(openssl_tsa.config("steady"), flaky))
    try:
        api, chain = api_for(services), Chain()
        _, batch_id = post_one(api, chain)
        assert batch_tsas(api, batch_id) == ["steady"]
        sealer = services.ledger.sealer
        assert sealer.incomplete_count() == 1
        assert services.store.exists(layout.stamp_incomplete(batch_id))
        assert sealer.retry_pending() == 0 and sealer.incomplete_count() == 1  # still down
        tsa.serve("127.0.0.1", port)
        assert sealer.retry_pending() == 1 and sealer.incomplete_count() == 0
        assert services.store.exists(layout.stamp_complete(batch_id))
        assert batch_tsas(api, batch_id) == ["flaky", "steady"]
        files = bundle_files(api, chain)
        assert {f"batches/{batch_id}/flaky.tst", f"batches/{batch_id}/steady.tst"} <= set(files)
        report = files["report.html"].decode()
        assert "flaky" in report and "steady" in report
    finally:
        services.close()
        tsa.shutdown()


def test_recovery_on_another_instance_asks_the_missing_tsa(tmp_path: Path, openssl_tsa: OpenSslTsa) -> None:
    flaky, tsa, port = down_tsa(tmp_path)
    tsas = (openssl_tsa.config("steady"), flaky)
    first = make_services(tmp_path / "data", tsas=tsas)
    api, chain = api_for(first), Chain()
    _, batch_id = post_one(api, chain)
    first.close()  # this instance ends while the batch still awaits "flaky"
    tsa.serve("127.0.0.1", port)
    other: Services | None = None
    try:
        other = make_services(tmp_path / "data", tsas=tsas)  # start-up recovery finishes it
        assert other.ledger.sealer.incomplete_count() == 0
        assert other.store.exists(layout.stamp_complete(batch_id))
        other_api = Api(api_for(other).client, api.token, api.account)
        assert batch_tsas(other_api, batch_id) == ["flaky", "steady"]
    finally:
        if other is not None:
            other.close()
        tsa.shutdown()


def test_a_removed_tsa_is_no_longer_asked(tmp_path: Path, openssl_tsa: OpenSslTsa) -> None:
    flaky, _, _ = down_tsa(tmp_path)  # never comes back
    first = make_services(tmp_path / "data", tsas=(openssl_tsa.config("steady"), flaky))
    api, chain = api_for(first), Chain()
    _, batch_id = post_one(api, chain)
    assert first.ledger.sealer.incomplete_count() == 1
    first.close()
    requests_before = 0
    second = make_services(tmp_path / "data", tsas=(openssl_tsa.config("steady"),))  # the operator removed it
    try:
        sealer = second.ledger.sealer
        assert sealer.incomplete_count() == 0
        assert sealer.tsa_requests == requests_before  # nobody was asked: "steady" had answered already
        assert second.store.exists(layout.stamp_complete(batch_id))
        assert batch_tsas(Api(api_for(second).client, api.token, api.account), batch_id) == ["steady"]
    finally:
        second.close()


class HeldTsa:
    """The built-in TSA behind an HTTP handler that holds every answer until the test lets it go."""

    def __init__(self, directory: Path) -> None:
        self.tsa = DevTsa.load_or_create(directory)
        self.release = threading.Event()
        self.asked = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                query = self.rfile.read(int(self.headers["Content-Length"]))
                outer.asked.set()
                outer.release.wait(60)
                body = outer.tsa.respond(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        assert self.tsa.ca_file is not None
        self.config = TsaConfig(name="slow", url=f"http://127.0.0.1:{self.server.server_address[1]}/",
                                ca_file=self.tsa.ca_file, timeout=60)


def test_a_slow_tsa_does_not_hold_up_the_acknowledgement(tmp_path: Path, openssl_tsa: OpenSslTsa) -> None:
    slow = HeldTsa(tmp_path / "slow")
    services = make_services(tmp_path / "data", tsas=(openssl_tsa.config("steady"), slow.config))
    try:
        api, chain = api_for(services), Chain()
        _, batch_id = post_one(api, chain)  # answered while the slow TSA still holds its answer
        assert slow.asked.is_set() and not slow.release.is_set()
        assert batch_tsas(api, batch_id) == ["steady"]
        assert services.store.exists(layout.stamp_incomplete(batch_id))
        sealer = services.ledger.sealer
        assert sealer.retry_pending() == 0  # the running request is not asked twice
        slow.release.set()
        deadline = time.monotonic() + 30
        while not services.store.exists(layout.stamp_complete(batch_id)):
            assert time.monotonic() < deadline, "the slow TSA's token never became a late token"
            time.sleep(0.05)
        assert batch_tsas(api, batch_id) == ["slow", "steady"]
        files = bundle_files(api, chain)
        assert {f"batches/{batch_id}/slow.tst", f"batches/{batch_id}/steady.tst"} <= set(files)
    finally:
        slow.release.set()
        services.close()
        slow.server.shutdown()
        slow.server.server_close()
