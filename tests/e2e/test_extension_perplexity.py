"""Perplexity end to end: the built extension captures a thread on the Perplexity stand-in, which
speaks the live perplexity_ask stream and the paged thread read (sites_perplexity.py), and a real
service stamps it."""

from __future__ import annotations

from .conftest import Browser, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, wait_for


def test_perplexity_thread_with_follow_up_rewrite_and_model_change_arrives_as_a_signed_chain(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://www.perplexity.ai/")
    tab = browser.tab_id("https://www.perplexity.ai/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    session: list[str] = []

    def step(action: str, expected: list[str]) -> None:
        page.evaluate(action)
        if not session:
            session.append(page.url.rsplit("/", 1)[1])
        wait_for(f"{expected} after {action}",
                 lambda: [r["record"]["type"] for r in stamp.session_records("perplexity", session[0])] == expected)

    steps = ["parameters", "prompt", "output"]
    step("send('When do harbour pilots board ships?')", steps)
    steps += ["prompt", "output"]
    step("send('And how do they climb aboard?')", steps)
    steps += ["regenerate", "output"]  # a rewrite: the same question again
    step("rewrite()", steps)
    steps += ["parameters", "prompt", "output"]  # another model preferred
    step("send('Who pays the pilot?', 'claude2')", steps)
    # Reloading makes the page read the whole thread, two pages: all known, nothing new.
    with page.expect_response(lambda r: "cursor=p2" in r.url):
        page.reload()
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)
    records = stamp.session_records("perplexity", session[0])
    assert [r["record"]["type"] for r in records] == steps
    wait_for("the popup counts every step", lambda: recorded(popup) == len(records))
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "perplexity@2"
        assert item["receipt"]["device_key"] == device

    r = [item["record"] for item in records]
    assert r[0]["params"]["model"] == "turbo", "model_preference is the requested model"
    assert r[1]["refs"]["parent_message_id"] == "(root)"
    assert r[2]["text"] == "Answer 1 to: When do harbour pilots board ships?", "the answer once, not twice"
    assert r[2]["params"]["model"] == "turbo" and r[2]["params"]["model_source"] == "display_model"
    assert r[3]["refs"]["parent_message_id"] == r[2]["refs"]["message_id"], "last_backend_uuid links the follow-up"
    assert r[5]["refs"]["replaced_message_id"] == r[4]["refs"]["message_id"]
    assert r[6]["refs"]["parent_message_id"] == r[3]["refs"]["message_id"], "the rewrite answers the same question"
    assert r[7]["params"]["model"] == "claude2"
    assert r[9]["params"]["model"] == "claude-sonnet-4-5", "display_model names the model that answered"
    assert r[8]["refs"]["parent_message_id"] == r[6]["refs"]["message_id"]
    assert r[0]["session"]["id"] == session[0]
