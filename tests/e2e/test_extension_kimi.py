"""Kimi end to end: the page's turn call is not parsed (no public capture identifies it), so the
extension re-reads the saved conversation (ListMessages by POST) after each turn call; a turn, a
regenerate and an edit of the first prompt arrive at a real service as a signed chain."""

from __future__ import annotations

from .conftest import Browser, Served, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, wait_for


def test_kimi_turns_recorded_from_the_re_read_conversation_with_regenerate_and_first_prompt_edit(
        browser: Browser, stamp: Stamp, sites: Served) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://www.kimi.com/chat")
    tab = browser.tab_id("https://www.kimi.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        chat_id: str = page.evaluate(action)
        if not session:
            session.append(chat_id)
        wait_for(f"{expected} after {action}",
                 lambda: [r["record"]["type"] for r in stamp.session_records("kimi", session[0])] == expected)

    step("send('What is a tidal bore?')", ["prompt", "output"])
    step("send('Where is the biggest one?')", ["prompt", "output"] * 2)
    step("regenerate()", ["prompt", "output"] * 2 + ["regenerate", "output"])
    step("editFirst('What is a tidal wave?')", ["prompt", "output"] * 2 + ["regenerate", "output", "edit", "output"])
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    reads = sites.app.extensions["kimi"].list_reads
    assert reads and all(r["chat_id"] == session[0] for r in reads), "the extension's own ListMessages reads"

    records = stamp.session_records("kimi", session[0])
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "kimi@2"
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"
    first, answer, follow_up, reply, regen, redone, edit, edited = (r["record"] for r in records)
    assert first["text"] == "What is a tidal bore?"
    assert first["refs"]["parent_message_id"] == "(root)"
    assert answer["text"] == "Reply 1 to: What is a tidal bore?", "no think block"
    assert follow_up["refs"]["parent_message_id"] == answer["refs"]["message_id"]
    assert regen["refs"]["replaced_message_id"] == reply["refs"]["message_id"]
    assert redone["text"] == "Reply 2 to: Where is the biggest one?"
    assert edit["refs"]["parent_message_id"] == "(root)"
    assert edit["refs"]["edited_message_id"] == first["refs"]["message_id"]
    assert edited["text"] == "Reply 1 to: What is a tidal wave?"
