"""The HTTP API v1 end to end in-process: fs store, the built-in dev TSA, real crypto throughout."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from conftest import Api
from factories import Chain, Device, attachment, png
from promptstamp.canonical import canonicalize, digest_bytes, digest_of
from promptstamp.merkle import verify_inclusion
from promptstamp.model import Receipt
from promptstamp.services import Services
from promptstamp.signing import PublicKey, public_key_from_pem
from promptstamp.tokens import load_pem_certificates, verify_token
from promptstamp.web.dashboard import PAGE_BLUEPRINTS


def check_receipt(api: Api, record: dict[str, Any], result: dict[str, Any]) -> Receipt:
    """Everything a third party would check: signature, record digest, inclusion proof, token."""
    receipt = Receipt.from_json(result["receipt"])
    keys = {k["key"]: k for k in api.client.get("/v1/keys").get_json()["keys"]}
    PublicKey(public_key_from_pem(keys[receipt.key]["pem"])).verify(
        receipt.signed_bytes(), base64.b64decode(receipt.sig))
    assert receipt.record == digest_of(record)
    root = digest_bytes(receipt.batch.root)
    verify_inclusion(digest_bytes(receipt.record), receipt.batch.index, receipt.batch.size,
                     [bytes.fromhex(p) for p in receipt.batch.proof], root)
    # The dev TSA's root is not offered for pinning (/v1/keys); the test reads it from its file.
    settings = api.client.application.extensions["promptstamp"].settings
    roots = [c for t in settings.tsas for c in load_pem_certificates(t.ca_file.read_text())]
    assert result["status"] == "stamped" and result["tokens"]
    for token in result["tokens"]:
        verdict = verify_token(base64.b64decode(token["token"]), digest=root, roots=roots)
        assert token["untrusted"] is True  # the dev TSA labels itself in every output
        assert verdict.info.imprint == root
    return receipt


def test_single_record_is_signed_batched_and_stamped(api: Api) -> None:
    chain = Chain()
    record = chain.next(text="a cat in a teacup")
    r = api.post("/v1/records", record)
    assert r.status_code == 201, r.get_json()
    receipt = check_receipt(api, record, r.get_json())
    assert receipt.account == api.account and receipt.device_key is None


def test_array_post_shares_one_batch_and_one_token(api: Api) -> None:
    chain = Chain()
    records = [chain.next(text=f"prompt {i}") for i in range(25)]
    r = api.post("/v1/records", records)
    assert r.status_code == 201
    body = r.get_json()
    results = body["results"]
    assert [x["record_id"] for x in results] == [rec["id"] for rec in records]
    assert len({x["batch"] for x in results}) == 1 and list(body["batches"]) == [results[0]["batch"]]
    for rec, res in zip(records, results, strict=True):
        check_receipt(api, rec, {**res, "tokens": body["batches"][res["batch"]]["tokens"]})
    batch = api.get(f"/v1/batches/{results[0]['batch']}").get_json()
    assert batch["size"] == 25 and batch["status"] == "stamped" and len(batch["tokens"]) == 1
    assert batch["tokens"][0]["gen_time"].endswith("Z") and "BEGIN CERTIFICATE" in batch["tokens"][0]["chain"]


def test_resending_returns_the_original_receipt_and_changed_content_conflicts(api: Api) -> None:
    chain = Chain()
    record = chain.next(text="original")
    first = api.post("/v1/records", record).get_json()
    again = api.post("/v1/records", record)
    assert again.status_code == 201 and again.get_json()["receipt"] == first["receipt"]
    exact = api.get(f"/v1/records/{record['id']}/receipt")
    assert exact.data == canonicalize(first["receipt"])
    changed = {**record, "text": "edited afterwards"}
    r = api.post("/v1/records", changed)
    assert r.status_code == 409 and r.get_json()["error"] == "conflict"
    assert api.get(f"/v1/records/{record['id']}").get_json()["record"]["text"] == "original"


def test_device_signed_envelopes_name_the_device_key_in_the_receipt(api: Api) -> None:
    device = Device()
    r = device.pair(api)
    assert r.status_code == 201 and r.get_json()["key"] == device.id
    assert device.pair(api, "again").status_code == 200
    chain = Chain(device=device)
    record = chain.next()
    result = api.post("/v1/records", device.envelope(record)).get_json()
    assert check_receipt(api, record, result).device_key == device.id


def test_device_signature_failures_are_rejected(api: Api) -> None:
    device = Device()
    chain = Chain(device=device)
    record = chain.next()
    r = api.post("/v1/records", device.envelope(record))
    assert r.status_code == 400 and r.get_json()["error"] == "unknown_device"
    device.pair(api, "d")
    forged = device.envelope({**record, "text": "not what was signed"})
    forged["record"] = record | {"text": "tampered"}
    r = api.post("/v1/records", forged)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_device_signature"
    r = api.post("/v1/records", record)  # claims a device, carries no signature
    assert r.status_code == 400 and r.get_json()["error"] == "missing_device_signature"


def test_image_blob_round_trip_and_attachment_checks(api: Api) -> None:
    image = png(3, 3)
    att = attachment(image)
    chain = Chain()
    record = chain.next("output", actor="ai", attachments=[att])
    r = api.post("/v1/records", record)
    assert r.status_code == 400 and r.get_json()["error"] == "blob_missing"
    assert api.put(f"/v1/blobs/{att['digest']}", image[:-1], "image/png").get_json()["error"] == "digest_mismatch"
    assert api.put(f"/v1/blobs/{att['digest']}", image, "image/png").status_code == 201
    assert api.put(f"/v1/blobs/{att['digest']}", image, "image/png").status_code == 200
    wrong_size = chain.next("output", actor="ai", attachments=[{**att, "bytes": 1}])
    assert api.post("/v1/records", wrong_size).get_json()["error"] == "blob_size_mismatch"
    chain = Chain()
    record = chain.next("output", actor="ai", attachments=[att])
    assert api.post("/v1/records", record).status_code == 201
    got = api.get(f"/v1/blobs/{att['digest']}")
    assert got.data == image and got.mimetype == "image/png"


def test_session_lists_records_in_order_with_status(api: Api) -> None:
    chain = Chain(site="claude")
    records = [chain.next(text="first"), chain.next("output", actor="ai", text="answer"), chain.next(text="second")]
    for rec in records:
        assert api.post("/v1/records", rec).status_code == 201
    session = api.get(f"/v1/sessions/claude/{chain.session_id}").get_json()
    assert [r["record"]["id"] for r in session["records"]] == [r["id"] for r in records]
    assert all(r["status"] == "stamped" for r in session["records"])
    listing = api.get("/v1/sessions").get_json()["sessions"]
    assert listing == [{"site": "claude", "id": chain.session_id, "title": "Teacup cat", "records": 3,
                        "first_captured_at": records[0]["captured_at"],
                        "last_captured_at": records[-1]["captured_at"]}]


def test_session_ids_with_any_visible_character_work(api: Api) -> None:
    chain = Chain(session_id="https://example.org/weird/..x/id?&=%20#1")
    record = chain.next()
    r = api.post("/v1/records", record)
    assert r.status_code == 201, r.get_json()
    from urllib.parse import quote
    session = api.get(f"/v1/sessions/chatgpt/{quote(chain.session_id, safe='')}").get_json()
    assert session["id"] == chain.session_id and len(session["records"]) == 1


@pytest.mark.parametrize("session_id", [".", "..", "a/../b", "with space"])
def test_session_ids_that_could_not_be_read_back_are_refused(api: Api, session_id: str) -> None:
    answer = api.post("/v1/records", Chain(session_id=session_id).next())
    assert answer.status_code == 400
    assert "record.session.id" in answer.get_json()["detail"]


@pytest.mark.parametrize(("body", "error", "detail"), [
    (b'{"v":1,', "not_canonicalizable", "malformed JSON"),
    (b'{"v":1,"v":1}', "not_canonicalizable", "duplicate key"),
    (b"[]", "invalid", "non-empty array"),
    (b'{"v":1}', "invalid_record", "record.id: required field is missing"),
    (b"42", "invalid_record", "record: expected an object"),
])
def test_malformed_bodies_get_a_clear_400(api: Api, body: bytes, error: str, detail: str) -> None:
    r = api.post("/v1/records", data=body)
    assert r.status_code == 400
    assert r.get_json()["error"] == error and detail in r.get_json()["detail"]


def test_a_bad_item_rejects_the_whole_array_and_stores_nothing(api: Api) -> None:
    chain = Chain()
    good = chain.next()
    bad = {**chain.next(), "captured_at": "yesterday"}
    r = api.post("/v1/records", [good, bad])
    assert r.status_code == 400 and r.get_json()["index"] == 1
    assert "item 1: record.captured_at" in r.get_json()["detail"]
    assert api.get(f"/v1/records/{good['id']}").status_code == 404
    assert api.get("/v1/sessions").get_json()["sessions"] == []


def test_oversize_body_is_413(services: Services, api: Api) -> None:
    big = b"[" + b" " * services.settings.max_body_bytes + b"]"
    r = api.post("/v1/records", data=big)
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"


def test_too_many_records_in_one_post(api: Api) -> None:
    chain = Chain()
    r = api.post("/v1/records", [chain.next() for _ in range(1001)])
    assert r.status_code == 400 and r.get_json()["error"] == "too_many_records"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer ps_" + "A" * 43, "Basic abc"])
def test_missing_or_wrong_token_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/v1/sessions", "/v1/records/01JDQ3Z6W8X9Y0A1B2C3D4E5F6"):
        r = api.client.get(path, headers=headers)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    assert api.client.post("/v1/records", json={}, headers=headers).status_code == 401


def test_another_accounts_data_is_404_without_a_hint(api: Api, other_api: Api) -> None:
    chain = Chain()
    image = png()
    att = attachment(image)
    api.put(f"/v1/blobs/{att['digest']}", image, "image/png")
    record = chain.next("output", actor="ai", attachments=[att])
    result = api.post("/v1/records", record).get_json()
    for path in (f"/v1/records/{record['id']}", f"/v1/records/{record['id']}/receipt",
                 f"/v1/sessions/chatgpt/{chain.session_id}", f"/v1/blobs/{att['digest']}",
                 f"/v1/batches/{result['batch']}"):
        mine, theirs = api.get(path), other_api.get(path)
        assert mine.status_code == 200, path
        assert theirs.status_code == 404, path
        unknown = other_api.get(path.replace(record["id"], "01JDQ3Z6W8X9Y0A1B2C3D4E5F6")
                                .replace(chain.session_id, "nope").replace(att["digest"][7:], "0" * 64)
                                .replace(result["batch"], "01JDQ3Z6W8X9Y0A1B2C3D4E5F6"))
        assert theirs.get_json() | {"detail": ""} == unknown.get_json() | {"detail": ""}
    # The other account can store the same blob and the same record id independently.
    assert other_api.put(f"/v1/blobs/{att['digest']}", image, "image/png").status_code == 201
    assert other_api.post("/v1/records", record).status_code == 201


def test_unknown_session_and_record_are_404(api: Api) -> None:
    assert api.get("/v1/sessions/chatgpt/none").status_code == 404
    assert api.get("/v1/records/01JDQ3Z6W8X9Y0A1B2C3D4E5F6").status_code == 404
    assert api.get("/v1/batches/not-a-batch").status_code == 404


def test_health_and_public_keys(api: Api) -> None:
    health = api.client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["tsas"][0]["untrusted"] is True
    keys = api.client.get("/v1/keys").get_json()
    assert keys["keys"][0]["current"] is True and "BEGIN PUBLIC KEY" in keys["keys"][0]["pem"]


def test_openapi_documents_exactly_the_routes_the_app_serves(api: Api) -> None:
    spec = api.client.get("/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "put", "delete")}
    served = set()
    for rule in api.client.application.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS:
            continue  # HTML pages (dashboard, verify, keys) are not part of API v1
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                served.add((path, method))
    assert documented == served
    json.dumps(spec)  # serializable as served


def test_pairing_proves_possession_of_the_key_for_this_account(api: Api, services: Services) -> None:
    device, stranger = Device(), Device()
    challenge = api.post("/v1/devices/challenge").get_json()
    assert challenge["challenge"].startswith(f"promptstamp-pairing v1 account {api.account} nonce ")
    # Someone else's public key, signed by another key: possession is not proven, nothing is registered.
    body = device.pairing(challenge) | {"challenge_sig": stranger.pairing(challenge)["challenge_sig"]}
    r = api.post("/v1/devices", body)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_device_signature"
    # A challenge issued for another account is refused, whatever signs it.
    other, other_token = services.accounts.create("mallory")
    other_api = Api(api.client, other_token, other.id)
    r = other_api.post("/v1/devices", device.pairing(challenge))
    assert r.status_code == 400 and r.get_json()["error"] == "bad_challenge"
    # A challenge the service never issued (its signature does not hold) is refused.
    forged = challenge | {"challenge": challenge["challenge"].replace("nonce ", "nonce 0", 1)[:-1]}
    assert api.post("/v1/devices", device.pairing(forged)).status_code == 400
    # Without a challenge: told how to pair.
    r = api.post("/v1/devices", {"public_key": device.public_b64, "name": "old client"})
    assert r.status_code == 400 and "POST /v1/devices/challenge" in r.get_json()["detail"]
    assert api.get("/v1/devices").get_json()["devices"] == []
    assert device.pair(api).status_code == 201


def test_the_account_states_its_owner_and_clients_cannot_forge_service_records(api: Api) -> None:
    assert api.get("/v1/account").get_json()["record"] is None
    r = api.client.put("/v1/account", json={"display_name": "Ada Lovelace", "contact": "ada@example.org"},
                       headers=api.headers())
    assert r.status_code == 201, r.get_json()
    view = api.get("/v1/account").get_json()
    assert view["display_name"] == "Ada Lovelace" and view["contact"] == "ada@example.org" and view["record"]
    record = api.get(f"/v1/records/{view['record']}").get_json()["record"]
    assert record["type"] == "account" and record["session"] == {"site": "promptstamp", "id": "account"}
    assert record["params"] == {"account": api.account, "display_name": "Ada Lovelace", "contact": "ada@example.org"}
    r = api.client.put("/v1/account", json={"display_name": "Ada\nLovelace"}, headers=api.headers())
    assert r.status_code == 400
    again = api.client.put("/v1/account", json={"display_name": "A. Lovelace"}, headers=api.headers()).get_json()
    assert again["display_name"] == "A. Lovelace" and again["contact"] is None
    assert api.get(f"/v1/records/{again['record']}").get_json()["record"]["seq"] == 2
    forged = Chain(site="promptstamp", session_id="account").next("account", params={
        "account": api.account, "display_name": "Someone Else"})
    r = api.post("/v1/records", forged)
    assert r.status_code == 400 and r.get_json()["error"] == "reserved_record"
    # Sessions list only captured sessions; the account records go with every bundle.
    assert all(s["site"] != "promptstamp" for s in api.get("/v1/sessions").get_json()["sessions"])


def test_a_chain_break_is_stored_and_named_in_the_answer(api: Api) -> None:
    chain = Chain()
    first, second = chain.next(text="one"), chain.next(text="two")
    answer = api.post("/v1/records", [first, second]).get_json()
    assert [r["chain"] for r in answer["results"]] == [{"status": "ok"}, {"status": "ok"}]
    wrong_prev = chain.next(text="three") | {"prev": first["id"] and digest_of(first)}
    r = api.post("/v1/records", wrong_prev)
    assert r.status_code == 201 and r.get_json()["chain"]["problem"] == "prev_mismatch"
    gap = Chain(session_id=chain.session_id)
    gap.seq, gap.prev = 9, digest_of(wrong_prev)
    r = api.post("/v1/records", gap.next(text="ten"))
    assert r.get_json()["chain"] == {"status": "broken", "problem": "seq_gap",
                                     "detail": "seq 9 of this session and device has not arrived (yet): a step is "
                                               "missing before this one"}
    twin = Chain(session_id=chain.session_id).next(text="another first step")
    r = api.post("/v1/records", twin)
    assert r.get_json()["chain"]["problem"] == "duplicate_seq"
    # Evidence is never dropped: every one of them is stored, and a resend gives the same answer.
    assert len(api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"]) == 5
    assert api.post("/v1/records", twin).get_json()["chain"]["problem"] == "duplicate_seq"


@pytest.mark.parametrize(("captured_at", "when"), [("9999-12-31T23:59:59.000Z", "after"),
                                                   ("0001-01-01T00:00:00.000Z", "before"),
                                                   ("2020-01-01T00:00:00.000Z", "before")])
def test_a_capture_time_far_from_the_server_time_is_accepted_and_flagged(api: Api, captured_at: str,
                                                                         when: str) -> None:
    chain = Chain()
    answer = api.post("/v1/records", chain.next(text="a cat", captured_at=captured_at))
    assert answer.status_code == 201
    clock = answer.get_json()["clock"]
    assert f" {when} the service received the record (tolerance 10 min)" in clock["detail"]
    assert clock["tolerance_s"] == 600 and (clock["gap_s"] > 0) == (when == "before")
    on_time = api.post("/v1/records", chain.next(text="a dog"))
    assert "clock" not in on_time.get_json()
    from test_dashboard import sign_in

    browser = api.client.application.test_client()
    sign_in(browser, api.token)
    page = browser.get(f"/app/sessions/chatgpt/{chain.session_id}").get_data(as_text=True)
    assert page.count('class="warn clock"') == 1
    assert "The device&#x27;s capture time is" in page and f" {when} the service received this step" in page
