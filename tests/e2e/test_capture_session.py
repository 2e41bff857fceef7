"""The built extension in real Chromium, capturing a scripted session on the ChatGPT stand-in and
stamping it with a real promptstamp service."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from promptstamp.canonical import digest_of

from .conftest import ARTIFACTS, Browser, Stamp
from .sites import ACCOUNT, PNG

DRIFT_URL = "https://chatgpt.com/c/dddddddd-0000-4000-8000-000000000000"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def pair(browser: Browser, stamp: Stamp, screenshot: str | None = None) -> str:
    options = browser.ext_page("options.html")
    options.fill("[data-testid=server-url]", stamp.url)
    options.fill("[data-testid=token]", stamp.token)
    options.fill("[data-testid=device-name]", "e2e laptop")
    options.click("[data-testid=pair]")
    options.wait_for_selector("[data-testid=pair-result]:has-text('Paired')", timeout=15000)
    key: str = options.text_content("[data-testid=device-key]") or ""
    assert len(key) == 16
    if screenshot:
        ARTIFACTS.mkdir(exist_ok=True)
        options.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    options.close()
    return key


def counts(popup: Any) -> dict[str, int]:
    def number(testid: str) -> int:
        text = popup.text_content(f"[data-testid={testid}]") or "0"
        return int(text.strip(" ·").split()[0])

    return {k: number(f"count-{k}") for k in ("stamped", "pending", "queued", "rejected")}


def recorded(popup: Any) -> int:
    c = counts(popup)
    return c["stamped"] + c["pending"] + c["queued"] + c["rejected"]


def session_records(stamp: Stamp, session_id: str) -> list[dict[str, Any]]:
    view = stamp.get(f"/v1/sessions/chatgpt/{session_id}")
    records: list[dict[str, Any]] = view["records"]
    return sorted(records, key=lambda r: int(r["record"]["seq"]))


def assert_unbroken_chain(records: list[dict[str, Any]]) -> None:
    prev = None
    for n, item in enumerate(records, start=1):
        record = item["record"]
        assert record["seq"] == n
        assert record["prev"] == prev, f"chain breaks at seq {n}"
        prev = digest_of(record)


def test_scripted_session_arrives_in_order_with_an_unbroken_signed_chain(browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp, screenshot="options-paired.png")
    page = browser.context.new_page()
    page.goto("https://chatgpt.com/")
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def step(action: str, total: int) -> None:
        page.evaluate(action)
        wait_for(f"{total} steps after {action}", lambda: recorded(popup) == total)

    # The site account (GET /backend-api/me), parameters, prompt, output.
    step("send('Draw a cat astronaut, watercolor style')", 4)
    session_id = page.url.rsplit("/", 1)[1]
    step("send('Make the helmet gold and add a moon')", 6)
    step("regenerate()", 8)  # regenerate, output
    step("editLast('Make the helmet silver and add two moons')", 10)  # edit, output
    step("send('Now render it as an image, 16:9')", 12)  # prompt, then the image from a later tree read

    popup.wait_for_selector("[data-testid=image-0]")
    popup.check("[data-testid=image-0]")
    popup.click("[data-testid=mark-chosen]")
    popup.wait_for_selector("[data-testid=result]:has-text('Marked as chosen')")
    popup.fill("[data-testid=note-text]", "Silver reads better against the night sky; I chose the image for the cover.")
    popup.click("[data-testid=add-note]")
    popup.wait_for_selector("[data-testid=result]:has-text('Note added')")
    wait_for("all 14 steps uploaded", lambda: counts(popup)["queued"] == 0 and recorded(popup) == 14)
    ARTIFACTS.mkdir(exist_ok=True)
    popup.screenshot(path=str(ARTIFACTS / "popup-session.png"), full_page=True)
    assert "Capture on" in (popup.text_content("[data-testid=capture]") or "")

    records = session_records(stamp, session_id)
    types = [r["record"]["type"] for r in records]
    assert types == ["identity", "parameters", "prompt", "output", "prompt", "output", "regenerate", "output",
                     "edit", "output", "prompt", "output", "selection", "note"]
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["device"] == device
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"
    by_type = [r["record"] for r in records]
    assert by_type[0]["params"]["site_user_id"] == ACCOUNT["id"]
    assert by_type[0]["params"]["source"] == "GET /backend-api/me"
    by_type = by_type[1:]
    assert by_type[1]["text"] == "Draw a cat astronaut, watercolor style"
    assert by_type[0]["params"] == {"model": "gpt-4o"}
    assert by_type[7]["refs"]["edited_message_id"] == by_type[3]["refs"]["message_id"]
    assert by_type[5]["refs"]["replaced_message_id"] == by_type[4]["refs"]["message_id"]
    image_output = by_type[10]
    [attachment] = image_output["attachments"]
    assert attachment["digest"] == "sha256:" + hashlib.sha256(PNG).hexdigest()
    assert attachment["source_url"].startswith("https://files.oaiusercontent.com/file_")
    assert "?" not in attachment["source_url"], "signed query strings stay out of the evidence"
    assert image_output["params"]["seed"] == 77
    selection = by_type[11]
    assert selection["refs"]["record_id"] == image_output["id"]
    assert selection["refs"]["record"] == digest_of(image_output)
    assert selection["attachments"][0]["digest"] == attachment["digest"]
    assert by_type[12]["text"].startswith("Silver reads better")
    assert all(r["record"].get("text") != "…" for r in records), "nothing half-streamed"


def test_server_outage_mid_session_loses_nothing_and_doubles_nothing(browser: Browser, stamp: Stamp) -> None:
    pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://chatgpt.com/")
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    page.evaluate("send('A fox in the snow, linocut')")
    wait_for("first turn stamped", lambda: recorded(popup) == 4 and counts(popup)["queued"] == 0)
    session_id = page.url.rsplit("/", 1)[1]

    stamp.stop()
    page.evaluate("send('Make it two foxes')")
    page.evaluate("regenerate()")
    wait_for("steps queued while the server is down", lambda: counts(popup)["queued"] == 4)
    wait_for("the outage explained", lambda: "cannot reach" in (popup.text_content("[data-testid=last-error]") or ""))
    ARTIFACTS.mkdir(exist_ok=True)
    popup.screenshot(path=str(ARTIFACTS / "popup-outage.png"), full_page=True)

    stamp.start()
    popup.click("[data-testid=upload-now]")
    wait_for("queue drained after the restart", lambda: counts(popup)["queued"] == 0 and recorded(popup) == 8)
    records = session_records(stamp, session_id)
    assert [r["record"]["type"] for r in records] == ["identity", "parameters", "prompt", "output", "prompt", "output",
                                                      "regenerate", "output"]
    assert len({r["record"]["id"] for r in records}) == 8
    assert_unbroken_chain(records)


def test_drifted_page_shows_adapter_needs_update_and_records_only_the_gap(browser: Browser, stamp: Stamp) -> None:
    pair(browser, stamp)
    page = browser.context.new_page()
    page.goto(DRIFT_URL)
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    popup.wait_for_selector("[data-testid=health]:has-text('adapter needs an update')", timeout=20000)
    ARTIFACTS.mkdir(exist_ok=True)
    popup.screenshot(path=str(ARTIFACTS / "popup-drift.png"), full_page=True)
    time.sleep(2)
    # Nothing of the conversation is recorded from a page the adapter cannot read; the failure itself
    # is: a drift record per distinct reason (the unknown shape, the markup), an evidenced gap.
    session_id = DRIFT_URL.rsplit("/", 1)[1]
    wait_for("the drift records at the service", lambda: bool(stamp.get("/v1/sessions")["sessions"]))
    records = [r["record"] for r in session_records(stamp, session_id)]
    assert records and all(r["type"] == "drift" for r in records)
    assert {r["params"]["code"] for r in records} <= {"unknown-shape", "no-parse", "dom"}
    assert len({r["text"] for r in records}) == len(records), "each gap is recorded once"
    assert browser.worker.evaluate("(tabId) => chrome.action.getBadgeText({tabId})", tab) != ""
