"""Silent loss made loud, end to end: a prompt whose answer never arrives becomes a `drift` record in
the session's chain at the service (counted in /metrics per site and adapter), a red badge on the
tab and a line in the popup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptstamp.metrics import sample_value

from .conftest import Browser, Served, Stamp, _self_signed, launch_browser
from .stalled_site import AHEAD_PREFIX, create_stalled_app
from .test_capture_session import pair, session_records, wait_for


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[Served]:
    cert, key = _self_signed(tmp_path)
    served = Served(create_stalled_app(), ssl=(str(cert), str(key)))
    served.start()
    yield served
    served.stop()


@pytest.fixture
def gap_browser(tmp_path: Path, stalled: Served) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = launch_browser(p, tmp_path / "profile", stalled.port)
        try:
            yield launched
        finally:
            launched.context.close()


def _short_checks(browser: Browser) -> None:
    """The checks' times, shortened the way an operator can (watchTimings in extension storage)."""
    browser.worker.evaluate("""() => chrome.storage.local.set({watchTimings: {
        noAnswerMs: {text: 2500, thinking: 2500, image: 2500, video: 2500}, pageAheadGraceMs: 2500}})""")


def _records_of(stamp: Stamp, cid: str, kind: str) -> list[dict[str, Any]]:
    try:
        records = session_records(stamp, cid)
    except Exception:  # the session is not at the service yet
        return []
    return [r["record"] for r in records if r["record"]["type"] == kind]


def test_a_prompt_without_an_answer_is_recorded_as_a_gap_and_badged(gap_browser: Browser, stamp: Stamp) -> None:
    browser = gap_browser
    pair(browser, stamp)
    _short_checks(browser)
    cid = str(uuid.uuid4())
    page = browser.context.new_page()
    page.goto(f"https://chatgpt.com/c/{cid}")

    def drift_records() -> list[dict[str, Any]]:
        return _records_of(stamp, cid, "drift")

    wait_for("the drift record at the service", lambda: bool(drift_records()), timeout=60)
    records = [r["record"] for r in session_records(stamp, cid)]
    types = [r["type"] for r in records]
    assert "prompt" in types and "output" not in types
    drift = drift_records()
    assert len(drift) == 1, "one alarm per gap"
    assert drift[0]["params"]["code"] == "no-answer"
    assert drift[0]["params"]["adapter"].startswith("chatgpt@")
    assert drift[0]["refs"]["message_id"].endswith("-user-0001")
    assert f"chatgpt.com/c/{cid}" in drift[0]["text"]

    tab = browser.tab_id(f"https://chatgpt.com/c/{cid}")
    assert browser.worker.evaluate("(tabId) => chrome.action.getBadgeText({tabId})", tab) == "!"
    popup = browser.ext_page(f"popup.html?tab={tab}")
    popup.wait_for_selector("[data-testid=gap]", timeout=10000)
    assert "no recorded answer" in (popup.text_content("[data-testid=gaps]") or "")

    import requests

    metrics = requests.get(stamp.url + "/metrics", timeout=10).text
    assert sample_value(metrics, "promptstamp_drift_records_total",
                        {"site": "chatgpt", "adapter": drift[0]["params"]["adapter"]}) >= 1

    # Who is signed in: the page's traffic did not say, so the adapter asked once (GET /backend-api/me).
    wait_for("the identity record", lambda: bool(_records_of(stamp, cid, "identity")))
    identity = _records_of(stamp, cid, "identity")
    assert len(identity) == 1
    assert identity[0]["params"]["site_user_id"] == "user-e2e0000000000000000000000"
    assert identity[0]["actor"] == "user"

    # Waiting longer raises nothing more for the same gap.
    page.wait_for_timeout(4000)
    assert len(drift_records()) == 1


def test_a_page_showing_more_turns_than_were_recorded_is_a_gap(gap_browser: Browser, stamp: Stamp) -> None:
    browser = gap_browser
    pair(browser, stamp)
    _short_checks(browser)
    cid = AHEAD_PREFIX + str(uuid.uuid4())[8:]
    page = browser.context.new_page()
    page.goto(f"https://chatgpt.com/c/{cid}")

    wait_for("the page-ahead drift record", lambda: any(
        r["params"]["code"] == "page-ahead" for r in _records_of(stamp, cid, "drift")), timeout=60)
    page.wait_for_timeout(4000)
    drift = _records_of(stamp, cid, "drift")
    assert [r["params"]["code"] for r in drift] == ["page-ahead"], "an hour-old prompt awaits no answer"
    assert "shows 3 turns; 1 message was recorded" in drift[0]["text"]
    tab = browser.tab_id(f"https://chatgpt.com/c/{cid}")
    assert browser.worker.evaluate("(tabId) => chrome.action.getBadgeText({tabId})", tab) == "!"
