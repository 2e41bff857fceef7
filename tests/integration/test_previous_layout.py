"""A store written by the release before batch packs keeps reading, exporting and verifying, and its
interrupted batch is finished; new records go into the new layout beside it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import Api, make_services
from factories import Chain
from promptstamp import bundle, tokens
from promptstamp.services import Services
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle
from promptstamp.web import create_app

RELEASE1 = Path(__file__).resolve().parents[1] / "assets" / "stores" / "release1"
FIXTURE: dict[str, Any] = json.loads((RELEASE1 / "fixture.json").read_text())


@pytest.fixture
def old(tmp_path: Path) -> Any:
    data = tmp_path / "data"
    shutil.copytree(RELEASE1, data)  # reading it finishes its interrupted batch: never in place
    services = make_services(data)
    yield services, Api(create_app(services=services).test_client(), FIXTURE["token"], FIXTURE["account"])
    services.close()


def stored_receipt(record_id: str) -> bytes:
    return (RELEASE1 / "store" / "a" / FIXTURE["account"] / "receipts" / f"{record_id}.json").read_bytes()


def test_records_of_the_previous_layout_read_with_their_exact_receipts(old: tuple[Services, Api]) -> None:
    _, api = old
    for record_id in FIXTURE["sessions"]["chatgpt/teacup-cat"]:
        view = api.get(f"/v1/records/{record_id}").get_json()
        assert view["status"] == "stamped" and view["record"] == FIXTURE["records"][record_id]
        assert api.get(f"/v1/records/{record_id}/receipt").data == stored_receipt(record_id)
    sessions = {(s["site"], s["id"]): s["records"] for s in api.get("/v1/sessions").get_json()["sessions"]}
    assert sessions == {("chatgpt", "teacup-cat"): 3, ("claude", "lighthouse"): 2, ("chatgpt", "interrupted"): 2}


def test_the_interrupted_batch_is_finished_from_its_journal(old: tuple[Services, Api]) -> None:
    services, api = old
    ids = FIXTURE["sessions"]["chatgpt/interrupted"]
    views = [api.get(f"/v1/records/{rid}").get_json() for rid in ids]
    assert [v["status"] for v in views] == ["stamped", "stamped"]
    batch_ids = {v["receipt"]["batch"]["id"] for v in views}
    assert len(batch_ids) == 1
    entries = json.loads(next(p for p in (RELEASE1 / "store" / "batches").glob("*/journal.json")
                              if p.parent.name in batch_ids).read_text())["entries"]
    assert [json.loads(e["receipt"]) for e in entries] == [v["receipt"] for v in views]  # the journal's receipts
    assert services.recover()["finished"] == 0


def test_resends_of_old_records_keep_their_receipt_and_changes_conflict(old: tuple[Services, Api]) -> None:
    _, api = old
    record_id = FIXTURE["sessions"]["chatgpt/teacup-cat"][0]
    record = FIXTURE["records"][record_id]
    again = api.post("/v1/records", record)
    assert again.status_code == 201 and again.get_json()["receipt"] == json.loads(stored_receipt(record_id))
    changed = api.post("/v1/records", {**record, "text": "something else"})
    assert changed.status_code == 409


def test_an_old_session_continues_in_the_new_layout_and_exports_a_bundle_that_verifies(
        old: tuple[Services, Api]) -> None:
    services, api = old
    ids = FIXTURE["sessions"]["chatgpt/teacup-cat"]
    last = FIXTURE["records"][ids[-1]]
    chain = Chain(session_id="teacup-cat")
    stored = (RELEASE1 / "store" / "a" / FIXTURE["account"] / "records" / f"{ids[-1]}.json").read_bytes()
    chain.seq, chain.prev = last["seq"], "sha256:" + hashlib.sha256(stored).hexdigest()
    new = chain.next(text="the same cat, now asleep")
    assert api.post("/v1/records", new).status_code == 201
    session = api.get("/v1/sessions/chatgpt/teacup-cat").get_json()
    assert [r["record"]["id"] for r in session["records"]] == [*ids, new["id"]]
    evidence = services.ledger.session_evidence(FIXTURE["account"], "chatgpt", "teacup-cat")
    out = io.BytesIO()
    bundle.write_bundle(evidence, out, stamp=services.ledger.stamp_digest)
    root = tokens.load_pem_certificates((RELEASE1 / "devtsa" / "root.pem").read_bytes())
    report = check_bundle(out.getvalue(), Trust.build(root, list(evidence.keys.values())))
    # valid; not "trusted", since the development TSA that made the old store's tokens never is
    assert not report.failures and report.facts["records"] == 4
