"""Gemini end to end: the built extension captures a session on the Gemini stand-in, which speaks the
live StreamGenerate wire format (sites_gemini.py), and a real service stamps it."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import requests

from .conftest import Browser, Stamp
from .sites import PNG
from .sites_gemini import GEMINI_IMAGE_HOST, GEMINI_MODEL_HEADER
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for


def _first_sightings(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The extension reads the saved chat after each turn (and when the page shows a turn it has not
    # recorded yet); when such a read reaches it before the stream, a message is first recorded from
    # the chat, without the model header, and the stream's sighting then supersedes it, adding the
    # model. Both orders are right; the steps are the first sightings.
    return [r["record"] for r in records if "supersedes" not in r["record"].get("refs", {})]


def _steps(records: list[dict[str, Any]]) -> list[str]:
    return [r["type"] for r in _first_sightings(records)]


def test_gemini_session_streamed_follow_up_redo_and_image_arrive_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://gemini.google.com/app")
    tab = browser.tab_id("https://gemini.google.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        page.evaluate(action)
        if not session:
            session.append(page.url.rsplit("/", 1)[1])
        wait_for(f"{expected} after {action}", lambda: _steps(stamp.session_records("gemini", session[0])) == expected)

    # The model header (x-goog-ext-525001261-jspb) is the requested setting: one parameters step.
    steps = ["parameters", "prompt", "output"]
    step("send('Write a haiku about fog on a pier')", steps)
    steps += ["prompt", "output"]
    step("send('Give it a title')", steps)
    steps += ["regenerate", "output"]
    step("regenerate()", steps)
    steps += ["prompt", "output"]
    step("send('Paint a picture of a quiet harbour at night')", steps)
    # Reloading the chat makes the page read the saved conversation (batchexecute hNvQHb): the same
    # turns, already recorded, add nothing.
    with page.expect_response(lambda r: "rpcids=hNvQHb" in r.url):
        page.reload()
    time.sleep(2)
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    records = stamp.session_records("gemini", session[0])
    wait_for("the popup counts every step", lambda: recorded(popup) == len(records))
    assert "needs an update" not in (popup.text_content("[data-testid=health]") or ""), "the saved chat parsed"
    assert _steps(records) == steps
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "gemini@2"
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"

    params_step, first_prompt, first_answer, follow_up, answer, redo, redone, picture, image_answer = (
        _first_sightings(records))
    assert params_step["params"] == {"model": GEMINI_MODEL_HEADER}
    by_id = {r["record"]["id"]: r["record"] for r in records}
    superseding = {r["refs"]["supersedes"]: r for r in by_id.values() if "supersedes" in r["refs"]}
    for earlier_id, later in superseding.items():
        assert later["refs"]["message_id"] == by_id[earlier_id]["refs"]["message_id"]
        assert later["refs"]["supersedes_adds"] == "model", "the chat read lacks only the model header"
    assert first_prompt["text"] == "Write a haiku about fog on a pier"
    assert first_prompt["refs"]["parent_message_id"] == "(root)", "a first prompt hangs under the root"
    assert first_answer["text"] == "Draft 1 for: Write a haiku about fog on a pier", "the whole answer, no reasoning"
    assert first_answer["refs"]["parent_message_id"] == first_prompt["refs"]["message_id"]
    assert follow_up["refs"]["parent_message_id"] == first_answer["refs"]["message_id"], "parent from f.req[2]"
    assert redo["refs"]["replaced_message_id"] == answer["refs"]["message_id"]
    assert redone["refs"]["parent_message_id"] == follow_up["refs"]["message_id"]
    assert redone["refs"]["message_id"].startswith("rc_"), "a redo is a new draft"
    assert redone["refs"]["message_id"] != answer["refs"]["message_id"]
    assert image_answer["text"] == "Draft 4 for: Paint a picture of a quiet harbour at night", "placeholder removed"
    [attachment] = image_answer["attachments"]
    assert attachment["digest"] == "sha256:" + hashlib.sha256(PNG).hexdigest()
    assert attachment["source_url"].startswith(f"https://{GEMINI_IMAGE_HOST}/gg-dl/AOI_")
    assert attachment["source_url"].endswith("=s2048-rj"), "the full-size form, not the page's preview"
    blob = requests.get(f"{stamp.url}/v1/blobs/{attachment['digest']}",
                        headers={"Authorization": f"Bearer {stamp.token}"}, timeout=10)
    assert blob.status_code == 200 and blob.content == PNG, "the image's bytes are stored as a blob"
    for output in (first_answer, answer, redone, image_answer):
        assert superseding.get(output["id"], output)["params"] == {
            "model": GEMINI_MODEL_HEADER, "model_source": "request header x-goog-ext-525001261-jspb"}
    assert all(r["record"].get("text") != "" for r in records), "nothing half-streamed"
