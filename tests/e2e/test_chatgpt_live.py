"""ChatGPT on the live wire (live-traffic-2026.md §2.1) in real Chromium: a thinking turn that hands
off and continues on /resume, an asynchronous image that only a later tree read finds, an edit of the
first prompt (under the tree's root), and a branch chosen on the page (current_node) all reach a real
service as one signed, unbroken chain."""

from __future__ import annotations

import hashlib
from typing import Any

from .conftest import Browser, Stamp
from .sites import ACCOUNT, PNG
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, session_records, wait_for

FIRST = "Explain why lighthouses used Fresnel lenses"
THINKING = "Prove that the beam range grows with the square root of the tower height"
IMAGE = "Paint a lighthouse at dusk in watercolor"
EDITED = "Explain why lighthouses switched to LED lamps"


def test_chatgpt_thinking_handoff_async_image_first_prompt_edit_and_branch_choice(
    browser: Browser, stamp: Stamp,
) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://chatgpt.com/")
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, total: int, timeout: float = 30.0) -> None:
        page.evaluate(action)
        wait_for(f"{total} steps after {action}", lambda: recorded(popup) == total, timeout)

    page.evaluate("setModel('auto')")
    step(f"send('{FIRST}')", 4)  # the site account (GET /backend-api/me), parameters, prompt, output
    session_id = page.url.rsplit("/", 1)[1]
    page.evaluate("setModel('gpt-5-6-thinking')")
    step(f"send('{THINKING}')", 7)  # parameters, prompt; the answer only on /resume
    page.evaluate("setModel('auto')")
    # parameters and prompt at once; the image joins the saved tree later and a later re-read records it.
    step(f"sendImage('{IMAGE}')", 10, timeout=45.0)
    step(f"editFirst('{EDITED}')", 13)  # parameters (no image mode now), edit, output
    image_id = page.evaluate(
        "Object.values(tree.mapping).find(n => n.message && n.message.content.content_type === 'multimodal_text').id")
    step(f"selectBranch('{image_id}')", 14)  # the page shows the first branch again
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    records = session_records(stamp, session_id)
    r: list[dict[str, Any]] = [item["record"] for item in records]
    assert r[0]["type"] == "identity"
    assert r[0]["params"] == {"site_user_id": ACCOUNT["id"], "name": ACCOUNT["name"], "source": "GET /backend-api/me"}
    r = r[1:]
    assert [x["type"] for x in r] == ["parameters", "prompt", "output", "parameters", "prompt", "output",
                                      "parameters", "prompt", "output", "parameters", "edit", "output", "selection"]
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "chatgpt@2"
        assert item["receipt"]["device_key"] == device

    # The answering model is resolved_model_slug, never the requested "auto".
    assert r[0]["params"] == {"model": "auto"}
    assert r[2]["params"]["model"] == "gpt-5-4-mini"
    assert r[2]["params"]["model_source"] == "metadata.resolved_model_slug"
    assert r[2]["text"] == f"Answer 1 to: {FIRST}", "the final answer, whole"

    # The thinking turn: the prompt from leg 1's request, the answer from the /resume leg.
    assert r[3]["params"] == {"model": "gpt-5-6-thinking"}
    assert r[4]["text"] == THINKING
    assert r[5]["text"] == f"Answer 2 to: {THINKING}"
    assert r[5]["refs"]["parent_message_id"] == r[4]["refs"]["message_id"], "the answer hangs under its prompt"
    assert r[5]["params"]["model"] == "gpt-5-6-thinking"

    # The asynchronous image: bytes as delivered, parent resolved through the tool messages.
    assert r[6]["params"] == {"model": "auto", "mode": "picture_v2"}
    image = r[8]
    assert image["refs"]["parent_message_id"] == r[7]["refs"]["message_id"]
    [attachment] = image["attachments"]
    assert attachment["digest"] == "sha256:" + hashlib.sha256(PNG).hexdigest()
    assert image["params"]["model"] == "gpt-image-1"

    # The first prompt edited: a sibling under the tree's root, not a new prompt.
    edit = r[10]
    assert edit["text"] == EDITED
    assert edit["refs"]["edited_message_id"] == r[1]["refs"]["message_id"]
    assert edit["refs"]["parent_message_id"] == r[1]["refs"]["parent_message_id"] == "client-created-root"
    assert r[11]["refs"]["parent_message_id"] == edit["refs"]["message_id"]

    # The branch chosen on the page names the image output it shows.
    assert r[12]["refs"]["message_id"] == image_id
    assert r[12]["refs"]["selected_record"] == image["id"]


SOCKET_PROMPT = "Plan a night watch for three keepers"


def test_chatgpt_answer_and_image_over_the_websocket_arrive_whole_and_once(browser: Browser, stamp: Stamp) -> None:
    pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://chatgpt.com/")
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, total: int) -> None:
        page.evaluate(action)
        wait_for(f"{total} steps after {action}", lambda: recorded(popup) == total)

    page.evaluate("setModel('auto')")
    step(f"send('{FIRST}')", 4)  # the site account, parameters, prompt, output
    session_id = page.url.rsplit("/", 1)[1]
    # Leg 1 hands off; the answer streams on the socket in items replayed, repeated and out of order.
    page.evaluate("setModel('gpt-5-6-pro')")
    step(f"send('{SOCKET_PROMPT}')", 7)
    page.evaluate("setModel('auto')")
    step(f"sendImage('{IMAGE}')", 10)  # the image announced on the socket (add-messages)
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    records = session_records(stamp, session_id)
    r: list[dict[str, Any]] = [item["record"] for item in records]
    assert [x["type"] for x in r] == ["identity", "parameters", "prompt", "output", "parameters", "prompt", "output",
                                      "parameters", "prompt", "output"]
    assert_unbroken_chain(records)
    answer = r[6]
    assert answer["text"] == f"Answer 2 to: {SOCKET_PROMPT}", "the socket's items in offset order, each once"
    assert answer["params"]["model"] == "gpt-5-6-pro"
    assert answer["refs"]["parent_message_id"] == r[5]["refs"]["message_id"]
    assert r[4]["params"] == {"model": "gpt-5-6-pro"}
    [attachment] = r[9]["attachments"]
    assert attachment["digest"] == "sha256:" + hashlib.sha256(PNG).hexdigest()
    assert r[9]["refs"]["parent_message_id"] == r[8]["refs"]["message_id"]
