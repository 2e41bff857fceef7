import copy
from typing import Any

import pytest

from promptstamp.canonical import canonicalize, digest_of
from promptstamp.errors import CanonicalizationError, InvalidInput
from promptstamp.model import (
    BatchRef,
    Receipt,
    Record,
    drift_adapter_label,
    format_timestamp,
    new_ulid,
    parse_timestamp,
)

BASE: dict[str, Any] = {
    "v": 1, "id": "01JDQ3Z6W8X9Y0A1B2C3D4E5F6", "type": "prompt",
    "session": {"site": "chatgpt", "id": "6751c0de-1234", "url": "https://chatgpt.com/c/6751c0de-1234",
                "title": "Cat in a teacup"},
    "seq": 1, "prev": None, "captured_at": "2026-11-28T12:00:00.123Z", "actor": "user",
    "text": "a cat in a teacup, watercolour", "params": {"model": "gpt-5", "seed": 123},
    "refs": {"message_id": "m1"}, "client": {"app": "promptstamp-extension/0.1.0", "adapter": "chatgpt@1"},
}


def record(**changes: Any) -> dict[str, Any]:
    value = copy.deepcopy(BASE)
    for key, v in changes.items():
        if v is ...:
            value.pop(key)
        else:
            value[key] = v
    return value


def test_valid_record_keeps_its_value_and_digest() -> None:
    rec = Record.from_json(record())
    assert rec.canonical == canonicalize(BASE)
    assert rec.digest == digest_of(BASE)
    assert (rec.site, rec.session_id, rec.seq, rec.prev) == ("chatgpt", "6751c0de-1234", 1, None)


def test_unknown_fields_are_kept_for_later_versions() -> None:
    rec = Record.from_json(record(extra_field={"x": 1}))
    assert b"extra_field" in rec.canonical


@pytest.mark.parametrize(("changes", "message"), [
    ({"v": 2}, "record.v: expected 1"),
    ({"v": True}, "record.v: expected 1"),
    ({"id": "not-a-ulid"}, "record.id: expected a ULID"),
    ({"type": "chat"}, "record.type: expected one of"),
    ({"session": ...}, "record.session: required field is missing"),
    ({"session": {"site": "ChatGPT", "id": "x"}}, "record.session.site"),
    ({"session": {"site": "chatgpt", "id": ""}}, "record.session.id: expected a non-empty string"),
    ({"seq": 0}, "record.seq: expected an integer >= 1"),
    ({"seq": 1.5}, "record.seq: expected an integer"),
    ({"seq": "1"}, "record.seq: expected an integer"),
    ({"seq": 2}, "seq 2 needs the digest"),
    ({"prev": "sha256:" + "0" * 64}, "first record of a chain"),
    ({"prev": ...}, "record.prev: required field is missing"),
    ({"captured_at": "2026-11-28 12:00:00"}, "record.captured_at: expected an RFC 3339"),
    ({"captured_at": "2026-02-30T12:00:00.000Z"}, "not a real date"),
    ({"captured_at": "2026-11-28T12:00:00Z"}, "record.captured_at"),
    ({"actor": "bot"}, "record.actor: expected user|ai"),
    ({"client": {"adapter": "x"}}, "record.client.app: required field is missing"),
    ({"client": {"app": "x", "device": "nothex"}}, "record.client.device"),
    ({"text": None}, "record.text: null is not allowed"),
    ({"text": 5}, "record.text: expected a string"),
    ({"refs": {"message_id": 5}}, "record.refs.message_id"),
    ({"attachments": [{"digest": "md5:x", "media_type": "image/png", "bytes": 1, "role": "output"}]},
     "record.attachments\\[0\\].digest"),
    ({"attachments": [{"digest": "sha256:" + "a" * 64, "media_type": "png", "bytes": 1, "role": "output"}]},
     "record.attachments\\[0\\].media_type"),
    ({"attachments": {}}, "record.attachments: expected an array"),
])
def test_invalid_records_say_what_was_expected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Record.from_json(record(**changes))


def test_record_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match="record: expected an object, found list"):
        Record.from_json([])


def test_timestamps_round_trip_with_milliseconds() -> None:
    moment = parse_timestamp("2026-11-28T12:00:00.123Z", "t")
    assert format_timestamp(moment) == "2026-11-28T12:00:00.123Z"


def test_ulids_sort_by_time_and_are_valid_record_ids() -> None:
    ids = [new_ulid() for _ in range(5)]
    for i in ids:
        Record.from_json(record(id=i))
    assert len(set(ids)) == 5


def test_receipt_round_trips_and_signs_without_sig() -> None:
    receipt = Receipt(record=digest_of(BASE), record_id=BASE["id"], account="a" * 24,
                      received_at="2026-11-28T12:00:00.200Z",
                      batch=BatchRef(id=new_ulid(), root="sha256:" + "1" * 64, size=1, index=0, proof=()),
                      device_key=None, key="0123456789abcdef", sig="c2ln")
    again = Receipt.from_json(receipt.to_json())
    assert again == receipt
    assert b'"sig"' not in receipt.signed_bytes()


@pytest.mark.parametrize("device", [None, ("0123456789abcdef", "ZGV2aWNlIHNpZw==")])
def test_the_spliced_signed_receipt_is_its_rfc8785_serialization(device: tuple[str, str] | None) -> None:
    receipt = Receipt(record=digest_of(BASE), record_id=BASE["id"], account="a" * 24,
                      received_at="2026-11-28T12:00:00.200Z",
                      batch=BatchRef(id=new_ulid(), root="sha256:" + "1" * 64, size=3, index=2,
                                     proof=("2" * 64, "3" * 64)),
                      device_key=device[0] if device else None, key="0123456789abcdef",
                      device_sig=device[1] if device else None)
    sig = "q+/wSig0sP9Xa0=="
    signed = Receipt(**{**receipt.__dict__, "sig": sig})
    assert Receipt.signed_canonical(receipt.signed_bytes(), sig) == signed.canonical() == canonicalize(signed.to_json())
    with pytest.raises(ValueError):
        Receipt.signed_canonical(receipt.signed_bytes(), 'not "base64"')
    with pytest.raises(ValueError):
        Receipt.signed_canonical(signed.canonical() + b" ", sig)


@pytest.mark.parametrize("account", ["a" * 24, 'quote " and \\ backslash', "caf\u00e9 \U0001f600", "tab\there", ""])
@pytest.mark.parametrize("size", [1, 7, 2**53 - 1, 2**53])
@pytest.mark.parametrize("device", [None, ("0123456789abcdef", "ZGV2aWNlIHNpZw=="), (None, "c2ln")])
def test_receipt_signed_bytes_are_rfc8785_whatever_the_values(
        account: str, size: int, device: tuple[str | None, str] | None) -> None:
    receipt = Receipt(record=digest_of(BASE), record_id=BASE["id"], account=account,
                      received_at="2026-11-28T12:00:00.200Z",
                      batch=BatchRef(id=new_ulid(), root="sha256:" + "1" * 64, size=size, index=size - 1,
                                     proof=tuple(f"{i:x}" * 64 for i in range(3))),
                      device_key=device[0] if device else None, key="0123456789abcdef",
                      device_sig=device[1] if device else None)
    if size > 2**53 - 1:
        with pytest.raises(CanonicalizationError):
            canonicalize(receipt.unsigned_json())
        with pytest.raises(CanonicalizationError):
            receipt.signed_bytes()
        return
    assert receipt.signed_bytes() == canonicalize(receipt.unsigned_json())


def test_identity_and_drift_records_are_accepted_with_what_they_must_name() -> None:
    identity = Record.from_json(record(type="identity", text=...,
                                       params={"site_user_id": "user-1", "source": "GET /me"}))
    drift = Record.from_json(record(type="drift", params={"code": "no-answer", "adapter": "chatgpt@2"}))
    assert (identity.type, drift.type) == ("identity", "drift")


@pytest.mark.parametrize(("rtype", "params", "message"), [
    ("identity", {"name": "Ada"}, "record.params.site_user_id: identity records must name the site's user id"),
    ("drift", None, "record.params.code: drift records must name the drift code"),
    ("drift", {"code": 7}, "record.params.code: expected a string, found 7"),
])
def test_identity_and_drift_records_without_their_facts_are_rejected(
    rtype: str, params: dict[str, Any] | None, message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Record.from_json(record(type=rtype, params=... if params is None else params))


def test_a_superseding_record_names_an_earlier_record_by_id() -> None:
    later = Record.from_json(record(refs={"message_id": "m1", "supersedes": "01JDQ3Z6W8X9Y0A1B2C3D4E5F5"}))
    assert later.value["refs"]["supersedes"] == "01JDQ3Z6W8X9Y0A1B2C3D4E5F5"
    with pytest.raises(InvalidInput, match="record.refs.supersedes: expected the id"):
        Record.from_json(record(refs={"supersedes": "m0"}))
    with pytest.raises(InvalidInput, match="cannot supersede itself"):
        Record.from_json(record(refs={"supersedes": BASE["id"]}))


def test_drift_metric_label_is_the_named_adapter_or_other() -> None:
    named = Record.from_json(record(type="drift", params={"code": "no-parse", "adapter": "claude@3"}))
    from_client = Record.from_json(record(type="drift", params={"code": "dom"}))
    odd = Record.from_json(record(type="drift", params={"code": "dom", "adapter": "x" * 300}))
    assert [drift_adapter_label(r) for r in (named, from_client, odd)] == ["claude@3", "chatgpt@1", "other"]
