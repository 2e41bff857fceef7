"""DeepSeek end to end: the built extension captures a session on the DeepSeek stand-in, which speaks
the live completion stream (sites_deepseek.py), and a real service stamps it."""

from __future__ import annotations

from typing import Any

from .conftest import Browser, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for

SESSION = "5e7a9c1b-2d4f-4a6b-8c0d-1e2f3a4b5c6d"



def _first_sightings(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The page reads its history right after the stream; when that read reaches the extension first,
    # the answer is recorded from it (no model there) and the stream's sighting then supersedes it,
    # adding the model. Both orders are right; the steps are the first sightings.
    return [r["record"] for r in records if "supersedes" not in r["record"].get("refs", {})]


def test_deepseek_session_with_redo_first_prompt_edit_and_stop_arrives_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto(f"https://chat.deepseek.com/a/chat/s/{SESSION}")
    tab = browser.tab_id("https://chat.deepseek.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, steps: list[str]) -> None:
        page.evaluate(action)
        wait_for(f"{steps} after {action}", lambda: [
            r["type"] for r in _first_sightings(stamp.session_records("deepseek", SESSION))] == steps)

    steps = ["parameters", "prompt", "output"]
    step("send('When is high water at the northern harbour?')", steps)
    steps += ["parameters", "prompt", "output"]  # thinking on
    step("send('Explain spring tides', true)", steps)
    steps += ["regenerate", "output"]
    step("regenerate()", steps)
    steps += ["parameters", "edit", "output"]  # thinking off again
    step("editFirst('When is low water at the northern harbour?')", steps)
    steps += ["prompt", "output"]  # the stopped answer as the site saved it
    step("send('Now stop halfway through the tide table')", steps)
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    records = stamp.session_records("deepseek", SESSION)
    wait_for("the popup counts every step", lambda: recorded(popup) == len(records))
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "deepseek@2"
        assert item["receipt"]["device_key"] == device
    r = _first_sightings(records)
    by_id = {item["record"]["id"]: item["record"] for item in records}
    for later in (rec for rec in by_id.values() if "supersedes" in rec.get("refs", {})):
        earlier = by_id[later["refs"]["supersedes"]]
        assert later["refs"]["message_id"] == earlier["refs"]["message_id"]
        assert later["params"]["model_source"] == "ready.model_type", "only the stream adds the model"
    assert r[0]["params"] == {"thinking": False, "search": False}
    assert r[1]["refs"]["parent_message_id"] == "(root)", "parent_id null is the root, not 'no parent'"
    assert r[2]["text"] == "Answer 1 to: When is high water at the northern harbour?"
    superseding = {later["refs"]["supersedes"]: later for later in by_id.values() if "supersedes" in later["refs"]}

    def answered_by(output: dict[str, Any]) -> str:
        model: str = superseding.get(output["id"], output)["params"]["model"]
        return model

    assert answered_by(r[2]) == "default"
    assert r[3]["params"] == {"thinking": True, "search": False}
    assert r[5]["text"] == "Answer 2 to: Explain spring tides", "the reasoning is not the answer"
    assert answered_by(r[5]) == "thinking", "ready.model_type of the thinking turn"
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
