"""Qwen end to end: the built extension captures a session on the Qwen stand-in (sites_qwen.py), which
speaks the live v2 completions stream and saved-chat read; a streamed turn, a follow-up, a regenerate and
an edit of the first prompt arrive at a real service as a signed, unbroken chain."""

from __future__ import annotations

from .conftest import Browser, Stamp
from .sites_qwen import QWEN_MODEL
from .test_capture_session import assert_unbroken_chain, counts, pair, wait_for


def test_qwen_streamed_turn_regenerate_and_first_prompt_edit_arrive_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://chat.qwen.ai/")
    tab = browser.tab_id("https://chat.qwen.ai/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        chat_id: str = page.evaluate(action)
        if not session:
            session.append(chat_id)
        wait_for(f"{expected} after {action}",
                 lambda: [r["record"]["type"] for r in stamp.session_records("qwen", session[0])] == expected)

    step("send('Write a haiku about tidal pools')", ["parameters", "prompt", "output"])
    step("send('Give it a title')", ["parameters", "prompt", "output", "prompt", "output"])
    step("regenerate()", ["parameters", "prompt", "output", "prompt", "output", "regenerate", "output"])
    step("editFirst('Write a haiku about rock pools at dusk')",
         ["parameters", "prompt", "output", "prompt", "output", "regenerate", "output", "edit", "output"])
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    records = stamp.session_records("qwen", session[0])
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "qwen@2"
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"
    params, first, answer, follow_up, reply, regen, redone, edit, edited = (r["record"] for r in records)
    assert params["params"] == {"model": QWEN_MODEL, "thinking": True, "chat_type": "t2t"}
    assert first["text"] == "Write a haiku about tidal pools"
    assert first["refs"]["parent_message_id"] == "(root)", "parentId null kept as the root marker"
    assert answer["text"] == "Answer 1 to: Write a haiku about tidal pools", "the whole answer, no thinking phase"
    assert answer["refs"]["parent_message_id"] == first["refs"]["message_id"]
    assert follow_up["refs"]["parent_message_id"] == answer["refs"]["message_id"]
    assert reply["text"] == "Answer 1 to: Give it a title"
    assert regen["refs"]["replaced_message_id"] == reply["refs"]["message_id"]
    assert regen["refs"]["parent_message_id"] == follow_up["refs"]["message_id"]
    assert redone["text"] == "Answer 2 to: Give it a title"
    assert edit["text"] == "Write a haiku about rock pools at dusk"
    assert edit["refs"]["parent_message_id"] == "(root)"
    assert edit["refs"]["edited_message_id"] == first["refs"]["message_id"], "an edit of the first prompt"
    assert edited["text"] == "Answer 1 to: Write a haiku about rock pools at dusk"
    assert edited["refs"]["parent_message_id"] == edit["refs"]["message_id"]
    assert all("Thinking about" not in (r["record"].get("text") or "") for r in records)
