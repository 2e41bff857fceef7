"""Nothing acknowledged is lost: TSA outages give 202 pending and are stamped later; a crash in the
middle of a seal is finished at the next start from the batch journal."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

from conftest import Api, make_services
from factories import Chain
from promptstamp.config import TsaConfig
from promptstamp.devtsa import DevTsa
from promptstamp.errors import StorageError
from promptstamp.services import Services
from promptstamp.storage import ObjectStore
from promptstamp.web import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def down_tsa(tmp_path: Path) -> tuple[TsaConfig, DevTsa, int]:
    """A TSA config whose server is not running yet (connections are refused) on a known port."""
    tsa = DevTsa.load_or_create(tmp_path / "tsa")
    port = free_port()
    assert tsa.ca_file is not None
    config = TsaConfig(name="flaky", url=f"http://127.0.0.1:{port}/", ca_file=tsa.ca_file, timeout=2)
    return config, tsa, port


def api_for(services: object) -> Api:
    app = create_app(services=services)  # type: ignore[arg-type]
    account, token = app.extensions["promptstamp"].accounts.create("alice")
    return Api(app.test_client(), token, account.id)


def test_tsa_outage_answers_202_pending_and_the_batch_is_stamped_when_it_returns(tmp_path: Path) -> None:
    config, tsa, port = down_tsa(tmp_path)
    services = make_services(tmp_path / "data", tsas=(config,))
    try:
        api = api_for(services)
        chain = Chain()
        record = chain.next(text="written while the TSA was down")
        r = api.post("/v1/records", record)
        assert r.status_code == 202
        body = r.get_json()
        assert body["status"] == "pending" and body["tokens"] == [] and body["receipt"]["sig"]
        assert services.ledger.sealer.pending_count() == 1
        assert api.get(f"/v1/records/{record['id']}").get_json()["status"] == "pending"
        assert services.ledger.sealer.retry_pending() == 0  # still down: stays pending
        tsa.serve("127.0.0.1", port)
        assert services.ledger.sealer.retry_pending() == 1
        view = api.get(f"/v1/records/{record['id']}").get_json()
        assert view["status"] == "stamped" and view["receipt"] == body["receipt"]
        # Resending now returns the same receipt, with the token.
        again = api.post("/v1/records", record)
        assert again.status_code == 201 and again.get_json()["receipt"] == body["receipt"]
    finally:
        services.close()
        tsa.shutdown()


def test_pending_batches_are_stamped_by_the_next_start(tmp_path: Path) -> None:
    config, tsa, port = down_tsa(tmp_path)
    services = make_services(tmp_path / "data", tsas=(config,))
    api = api_for(services)
    record = Chain().next()
    assert api.post("/v1/records", record).status_code == 202
    token = api.token
    services.close()  # the process ends with the batch still pending
    tsa.serve("127.0.0.1", port)
    try:
        restarted = make_services(tmp_path / "data", tsas=(config,))
        try:
            app = create_app(services=restarted)
            view = Api(app.test_client(), token, api.account).get(f"/v1/records/{record['id']}").get_json()
            assert view["status"] == "stamped"
        finally:
            restarted.close()
    finally:
        tsa.shutdown()


class CrashAfterJournal:
    """A store that dies right after the batch's pack (its journal) is written: no session index lands."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.request_counts = inner.request_counts

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> set[str]:
        if any(key.startswith("a/") and "/sessions/" in key for key, _ in items):
            raise StorageError("simulated crash")
        return self.inner.put_many(items)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def crash_after_pack(services: Services) -> None:
    crashing = CrashAfterJournal(services.store)
    services.ledger.sealer._store = crashing  # type: ignore[assignment]  # noqa: SLF001
    services.ledger.sealer.indexer._store = crashing  # type: ignore[assignment]  # noqa: SLF001


def test_a_seal_interrupted_after_the_journal_is_finished_at_start_up(tmp_path: Path) -> None:
    services = make_services(tmp_path / "data")
    api = api_for(services)
    crash_after_pack(services)
    chain = Chain()
    records = [chain.next(text="one"), chain.next(text="two")]
    r = api.post("/v1/records", records)
    assert r.status_code == 503 and r.get_json()["error"] == "storage_unavailable"  # not acknowledged
    assert api.get(f"/v1/records/{records[0]['id']}").status_code == 404
    token = api.token
    services.close()
    restarted = make_services(tmp_path / "data")
    try:
        again = Api(create_app(services=restarted).test_client(), token, api.account)
        views = [again.get(f"/v1/records/{rec['id']}").get_json() for rec in records]
        assert [v["status"] for v in views] == ["stamped", "stamped"]
        assert views[0]["receipt"]["batch"]["id"] == views[1]["receipt"]["batch"]["id"]
        # The client's retry gets the receipts the journal holds, byte for byte.
        retry = again.post("/v1/records", records).get_json()["results"]
        assert [x["receipt"] for x in retry] == [v["receipt"] for v in views]
    finally:
        restarted.close()


def test_recovery_leaves_young_batches_to_the_instance_that_may_still_be_sealing_them(tmp_path: Path) -> None:
    services = make_services(tmp_path / "data")
    api = api_for(services)
    crash_after_pack(services)
    record = Chain().next()
    assert api.post("/v1/records", record).status_code == 503
    token = api.token
    services.close()
    other = make_services(tmp_path / "data", recovery_grace_s=3600)
    try:
        assert other.recover()["too_young"] == 1
        assert Api(create_app(services=other).test_client(), token, api.account).get(
            f"/v1/records/{record['id']}").status_code == 404
    finally:
        other.close()
    later = make_services(tmp_path / "data", recovery_grace_s=0)
    try:
        view = Api(create_app(services=later).test_client(), token, api.account).get(f"/v1/records/{record['id']}")
        assert view.get_json()["status"] == "stamped"
        assert later.recover()["finished"] == 0  # done now; this pass moves the listing watermark past it
        assert later.recover()["batches"] == 0
    finally:
        later.close()
