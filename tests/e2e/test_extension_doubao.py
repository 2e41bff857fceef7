"""Doubao end to end: the built extension captures a session on the Doubao stand-in (sites_doubao.py),
which speaks the live completion event stream; a streamed turn, a regenerate and an edit of the first
prompt arrive at a real service as a signed chain, and the saved chain is re-read by POST."""

from __future__ import annotations

from .conftest import Browser, Served, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, wait_for


def test_doubao_streamed_turn_regenerate_and_first_prompt_edit_arrive_as_a_signed_chain(
        browser: Browser, stamp: Stamp, sites: Served) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://www.doubao.com/chat/")
    tab = browser.tab_id("https://www.doubao.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        conversation: str = page.evaluate(action)
        if not session:
            session.append(conversation)
        wait_for(f"{expected} after {action}",
                 lambda: [r["record"]["type"] for r in stamp.session_records("doubao", session[0])] == expected)

    step("send('给我的咖啡馆起个名字')", ["parameters", "prompt", "output"])
    step("regenerate()", ["parameters", "prompt", "output", "regenerate", "output"])
    step("editFirst('给我的书店起个名字')",
         ["parameters", "prompt", "output", "regenerate", "output", "edit", "output"])
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    stand_in = sites.app.extensions["doubao"]
    wait_for("the saved chain re-read by POST", lambda: session[0] in stand_in.chain_reads)

    records = stamp.session_records("doubao", session[0])
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "doubao@2"
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"
    params, prompt, answer, regen, redone, edit, edited = (r["record"] for r in records)
    assert params["params"] == {"thinking": False, "auto_thinking": False}
    assert prompt["text"] == "给我的咖啡馆起个名字"
    assert answer["text"] == "回答1：给我的咖啡馆起个名字", "the whole answer, from the finished message"
    assert answer["refs"]["parent_message_id"] == prompt["refs"]["message_id"], "reply_id links the answer"
    assert regen["refs"]["replaced_message_id"] == answer["refs"]["message_id"]
    assert redone["text"] == "回答2：给我的咖啡馆起个名字"
    assert redone["refs"]["regen_query_id"] == prompt["refs"]["message_id"]
    assert edit["text"] == "给我的书店起个名字"
    assert edit["refs"]["edit_query_id"] == prompt["refs"]["message_id"], "the edited prompt, from the request option"
    assert edited["refs"]["parent_message_id"] == edit["refs"]["message_id"]
