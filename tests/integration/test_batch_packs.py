"""Batch packs: a sealed batch costs a fixed number of objects whatever its size, and writers in
several processes share a session's index without ever giving one record two receipts."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import Api, make_services
from factories import Chain
from promptstamp import layout
from promptstamp.services import Services
from promptstamp.web import create_app


def client(services: Services, token: str, account: str) -> Api:
    return Api(create_app(services=services).test_client(), token, account)


def puts(services: Services) -> int:
    return services.store.request_counts["put"]


def test_a_batch_is_the_same_few_objects_whatever_its_size(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        account, token = services.accounts.create("alice")
        api = client(services, token, account.id)
        written = []
        for size in (2, 500):
            chain = Chain()
            before = puts(services)
            assert api.post("/v1/records", [chain.next(text=f"step {i}") for i in range(size)]).status_code == 201
            written.append(puts(services) - before)
        # pack, stamp, one index segment for the session, one locator for the account
        assert written == [4, 4]
        batch = api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"][0]["batch"]
        assert services.store.exists(layout.pack(batch)) and services.store.exists(layout.stamp(batch))
    finally:
        services.close()


def test_a_resend_through_another_process_gets_the_same_receipt_and_a_change_conflicts(tmp_path: Path) -> None:
    first = make_services(tmp_path)
    second = make_services(tmp_path)  # another worker: same store and key, its own caches
    try:
        account, token = first.accounts.create("alice")
        a, b = client(first, token, account.id), client(second, token, account.id)
        chain = Chain()
        record = chain.next(text="a cat")
        original = a.post("/v1/records", record).get_json()["receipt"]
        assert b.post("/v1/records", record).get_json()["receipt"] == original  # single post
        assert b.post("/v1/records", [record]).get_json()["results"][0]["receipt"] == original  # array
        assert b.post("/v1/records", {**record, "text": "a dog"}).status_code == 409
        follow = chain.next(text="a cat, asleep")
        assert b.post("/v1/records", follow).status_code == 201
        assert [r["record"]["id"] for r in a.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"]] \
            == [record["id"], follow["id"]]
    finally:
        first.close()
        second.close()


def test_two_processes_appending_to_one_session_take_turns(tmp_path: Path) -> None:
    workers = [make_services(tmp_path) for _ in range(2)]
    try:
        account, token = workers[0].accounts.create("alice")
        apis = [client(w, token, account.id) for w in workers]
        chain = Chain()
        records = [chain.next(text=f"step {i}") for i in range(40)]
        receipts: dict[str, list[dict[str, object]]] = {}
        lock = threading.Lock()

        def post(api: Api, start: int) -> None:
            # Both send every record, in different orders, in small arrays: each record arrives twice.
            order = records[start:] + records[:start]
            for i in range(0, len(order), 5):
                body = api.post("/v1/records", order[i:i + 5]).get_json()
                with lock:
                    for r in body["results"]:
                        receipts.setdefault(r["record_id"], []).append(r["receipt"])

        threads = [threading.Thread(target=post, args=(api, start)) for api, start in zip(apis, (0, 20), strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(len(got) == 2 and got[0] == got[1] for got in receipts.values())  # one receipt per record
        session = apis[1].get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"]
        assert [r["record"]["id"] for r in session] == [r["id"] for r in records]
        keys = list(workers[0].store.list(layout.session_prefix(account.id, "chatgpt", chain.session_id)))
        assert [layout.segment_number(k) for k in keys] == list(range(1, len(keys) + 1))  # no gaps, no doubles
    finally:
        for w in workers:
            w.close()


def test_chain_status_is_right_when_another_process_sealed_the_step_before(tmp_path: Path) -> None:
    """Two services over one store, as two workers: each answers "ok" for a step whose predecessor the
    other sealed (its cached view of the session is refreshed when a predecessor seems missing), and a
    real gap is still named."""
    one, two = make_services(tmp_path), make_services(tmp_path)
    try:
        _, token = one.accounts.create("alice")
        auth = {"Authorization": f"Bearer {token}"}
        first, second = create_app(services=one).test_client(), create_app(services=two).test_client()
        chain = Chain()
        answers = [client.post("/v1/records", json=chain.next(text=f"step {i}"), headers=auth).get_json()
                   for i, client in enumerate((second, first, second, first))]
        assert [a["chain"] for a in answers] == [{"status": "ok"}] * 4
        chain.next(text="lost on the way")  # seq 5 never sent
        gap = second.post("/v1/records", json=chain.next(text="step 6"), headers=auth).get_json()
        assert gap["chain"]["status"] == "broken" and gap["chain"]["problem"] == "seq_gap"
    finally:
        one.close()
        two.close()


def test_posting_on_in_a_session_reads_nothing_and_still_names_breaks(tmp_path: Path) -> None:
    """The chain check looks up the places of the session this process holds (no re-reading of its
    segments however long it grows), and one record alone, or in an array of one, in a session the
    process has not seen lists nothing: appending its first segment is what finds an earlier one."""
    services = make_services(tmp_path)
    try:
        account, token = services.accounts.create("alice")
        api = client(services, token, account.id)
        chain = Chain()
        for _ in range(3):
            assert api.post("/v1/records", [chain.next(text="step") for _ in range(50)]).status_code == 201
        counts = services.store.request_counts
        reads = lambda: counts["get"] + counts["list"] + counts["head"]  # noqa: E731
        assert api.post("/v1/records", Chain().next(text="first")).status_code == 201  # lists batches/ once
        before = reads()
        answer = api.post("/v1/records", [chain.next(text="step") for _ in range(50)]).get_json()
        assert {r["chain"]["status"] for r in answer["results"]} == {"ok"}
        assert api.post("/v1/records", [Chain().next(text="a new session")]).status_code == 201
        assert api.post("/v1/records", Chain().next(text="another")).status_code == 201
        assert reads() == before
        # Another step at the last seq, continuing the one before it: a fork.
        last = chain.next(text="a fork")
        fork = {**last, "seq": last["seq"] - 1, "prev": answer["results"][-2]["receipt"]["record"]}
        broken = api.post("/v1/records", fork).get_json()["chain"]
        assert broken["problem"] == "duplicate_seq"
    finally:
        services.close()
