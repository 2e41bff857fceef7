"""A second site end to end: the built extension captures a session on the Claude stand-in (SSE
completions, the conversation tree re-read after each turn) and a real service stamps it."""

from __future__ import annotations

from typing import Any

from .conftest import Browser, Stamp
from .sites import CLAUDE_ACCOUNT
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for


def test_claude_session_with_retry_edits_and_first_prompt_edit_arrives_as_a_signed_chain(
    browser: Browser, stamp: Stamp,
) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://claude.ai/new")
    tab = browser.tab_id("https://claude.ai/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, total: int) -> None:
        # At least: when the tree re-read reaches the extension before the stream, the stream's fuller
        # sighting may add a superseding record (refs.supersedes), which the type list below leaves out.
        page.evaluate(action)
        wait_for(f"{total} steps after {action}", lambda: recorded(popup) >= total)

    # The site account (GET /api/account), parameters (model), prompt, output.
    step("send('Write a two-line poem about a harbour at dawn')", 4)
    session_id = page.url.rsplit("/", 1)[1]
    step("send('Give it a title')", 6)
    step("regenerate()", 8)  # regenerate, output
    step("editLast('Give it a title with a colour in it')", 10)  # edit, output
    page.evaluate("setModel('claude-opus-4-8')")
    step("editFirst('Write a two-line poem about a harbour at night')", 13)  # parameters, edit, output
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    assert "Capture on" in (popup.text_content("[data-testid=capture]") or "")

    view = stamp.get(f"/v1/sessions/claude/{session_id}")
    every: list[dict[str, Any]] = sorted(view["records"], key=lambda r: int(r["record"]["seq"]))
    assert_unbroken_chain(every)
    records = [r for r in every if "supersedes" not in r["record"].get("refs", {})]  # first sightings
    assert [r["record"]["type"] for r in records] == ["identity", "parameters", "prompt", "output", "prompt", "output",
                                                      "regenerate", "output", "edit", "output",
                                                      "parameters", "edit", "output"]
    for item in every:
        assert item["record"]["client"]["adapter"] == "claude@2"
        assert item["receipt"]["device_key"] == device
    r = [item["record"] for item in records]
    assert r[0]["params"]["site_user_id"] == CLAUDE_ACCOUNT["uuid"]
    assert r[0]["params"]["name"] == CLAUDE_ACCOUNT["display_name"]
    r = r[1:]
    assert r[0]["params"] == {"model": "claude-sonnet-4-5", "style": "Default"}
    assert r[1]["text"] == "Write a two-line poem about a harbour at dawn"
    assert r[2]["text"] == "Reply 1 to: Write a two-line poem about a harbour at dawn", "the whole answer, not a part"
    assert r[5]["refs"]["replaced_message_id"] == r[4]["refs"]["message_id"]
    assert r[7]["refs"]["edited_message_id"] == r[3]["refs"]["message_id"]
    assert r[7]["refs"]["parent_message_id"] == r[2]["refs"]["message_id"]
    assert r[8]["text"] == "Reply 4 to: Give it a title with a colour in it"
    # Streamed turns carry no title; the tree re-read that follows names it.
    assert "Harbour poem" in {x["session"].get("title") for x in r}
    # The first prompt edited: a sibling under the root sentinel, answered by the model its request named
    # (the tree shows only the chat's latest model, which would mislabel the earlier answers).
    assert r[10]["refs"]["parent_message_id"] == "00000000-0000-4000-8000-000000000000"
    assert r[10]["refs"]["edited_message_id"] == r[1]["refs"]["message_id"]
    assert r[9]["params"] == {"model": "claude-opus-4-8", "style": "Default"}
    assert r[11]["params"]["model"] == "claude-opus-4-8"
    assert r[2]["params"]["model"] == r[8]["params"]["model"] == "claude-sonnet-4-5"
    assert all(x["type"] != "output" or "Keep it short" not in x["text"] for x in r), "thinking is not the answer"
