"""DeepSeek end to end: the built extension captures a session on the DeepSeek stand-in, which speaks
the live completion stream (sites_deepseek.py), and a real service stamps it."""

from __future__ import annotations

from typing import Any

from .conftest import Browser, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for

SESSION = "5e7a9c1b-2d4f-4a6b-8c0d-1e2f3a4b5c6d"


def test_deepseek_session_with_redo_first_prompt_edit_and_stop_arrives_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto(f"https://chat.deepseek.com/a/chat/s/{SESSION}")
    tab = browser.tab_id("https://chat.deepseek.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, total: int) -> None:
        page.evaluate(action)
        wait_for(f"{total} steps after {action}", lambda: recorded(popup) == total)

    step("send('When is high water at the northern harbour?')", 3)  # parameters, prompt, output
    step("send('Explain spring tides', true)", 6)  # parameters (thinking on), prompt, output
    step("regenerate()", 8)  # regenerate, output
    step("editFirst('When is low water at the northern harbour?')", 11)  # parameters (thinking off), edit, output
    step("send('Now stop halfway through the tide table')", 13)  # prompt, the stopped answer as saved
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    view = stamp.get(f"/v1/sessions/deepseek/{SESSION}")
    records: list[dict[str, Any]] = sorted(view["records"], key=lambda r: int(r["record"]["seq"]))
    assert [r["record"]["type"] for r in records] == [
        "parameters", "prompt", "output", "parameters", "prompt", "output", "regenerate", "output",
        "parameters", "edit", "output", "prompt", "output"]
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "deepseek@2"
        assert item["receipt"]["device_key"] == device
    r = [item["record"] for item in records]
    assert r[0]["params"] == {"thinking": False, "search": False}
    assert r[1]["refs"]["parent_message_id"] == "(root)", "parent_id null is the root, not 'no parent'"
    assert r[2]["text"] == "Answer 1 to: When is high water at the northern harbour?"
    assert r[2]["params"]["model"] == "default" and r[2]["params"]["model_source"] == "ready.model_type"
    assert r[3]["params"] == {"thinking": True, "search": False}
    assert r[5]["text"] == "Answer 2 to: Explain spring tides", "the reasoning is not the answer"
    assert r[5]["params"]["model"] == "thinking"
    assert r[6]["refs"]["replaced_message_id"] == r[5]["refs"]["message_id"]
    assert r[7]["refs"]["parent_message_id"] == r[4]["refs"]["message_id"]
    assert r[9]["refs"]["edited_message_id"] == r[1]["refs"]["message_id"], "an edit of the first prompt"
    assert r[9]["refs"]["parent_message_id"] == "(root)"
    stopped = r[12]
    full = "Answer 5 to: Now stop halfway through the tide table"
    assert stopped["text"] == full[: len(full) // 2], "what the site saved of the stopped answer"
    assert stopped["params"].get("stopped") is True, "a stopped answer is recorded as saved and marked"
    assert all(item.get("text") != "…" for item in r), "nothing half-streamed"
    assert stopped["session"]["title"] == "Harbour tides", "recorded from the saved history, which names the chat"
