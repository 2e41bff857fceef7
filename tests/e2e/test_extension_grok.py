"""Grok end to end: the built extension captures a session on the Grok stand-in, which speaks the live
NDJSON turn and the two-step history read (sites_grok.py), and a real service stamps it."""

from __future__ import annotations

import hashlib

from .conftest import Browser, Stamp
from .sites import PNG
from .sites_grok import GROK_ASSETS_HOST, GROK_MODEL
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for


def test_grok_session_with_redo_first_prompt_edit_and_image_arrives_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://grok.com/")
    tab = browser.tab_id("https://grok.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        page.evaluate(action)
        if not session:
            session.append(page.url.rsplit("/", 1)[1])
        wait_for(f"{expected} after {action}",
                 lambda: [r["record"]["type"] for r in stamp.session_records("grok", session[0])] == expected)

    steps = ["parameters", "prompt", "output"]
    step("send('Why do harbour lights use red and green?')", steps)
    steps += ["prompt", "output"]
    step("send('Which side is red in Europe?')", steps)
    steps += ["regenerate", "output"]
    step("regenerate()", steps)
    steps += ["edit", "output"]
    step("editFirst('Why do harbour lights flash at different rhythms?')", steps)
    steps += ["prompt", "output"]
    step("send('Draw a picture of a harbour light at dusk')", steps)
    # Reloading makes the page read the skeleton and then the bodies: all known, nothing new.
    with page.expect_response(lambda r: r.url.endswith("/load-responses")):
        page.reload()
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    records = stamp.session_records("grok", session[0])
    assert [r["record"]["type"] for r in records] == steps
    wait_for("the popup counts every step", lambda: recorded(popup) == len(records))
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "grok@2"
        assert item["receipt"]["device_key"] == device

    r = [item["record"] for item in records]
    assert r[0]["params"]["model"] == GROK_MODEL
    assert r[1]["refs"]["parent_message_id"] == "(root)"
    assert r[2]["text"] == "Reply 1 to: Why do harbour lights use red and green?", "tokens flagged as thinking left out"
    assert r[2]["params"]["model"] == GROK_MODEL and r[2]["params"]["model_source"] == "modelResponse.model"
    assert r[3]["refs"]["parent_message_id"] == r[2]["refs"]["message_id"], "parentResponseId of the follow-up"
    assert r[5]["refs"]["replaced_message_id"] == r[4]["refs"]["message_id"]
    assert r[6]["refs"]["parent_message_id"] == r[3]["refs"]["message_id"], "a redo hangs under the same prompt"
    assert r[7]["refs"]["edited_message_id"] == r[1]["refs"]["message_id"], "an edit of the first prompt"
    assert r[7]["refs"]["parent_message_id"] == "(root)"
    [attachment] = r[10]["attachments"]
    assert attachment["digest"] == "sha256:" + hashlib.sha256(PNG).hexdigest()
    assert attachment["source_url"].startswith(f"https://{GROK_ASSETS_HOST}/users/u1/generated/")
