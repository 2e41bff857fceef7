"""The extension in Firefox (the distribution's firefox-esr, headless) end to end: installed as a
temporary add-on, paired through its options page, capturing a ChatGPT turn on the stand-in, and the
records arriving signed and chained at a real service.

Driven over Marionette (marionette.py): geckodriver is not in Debian and Playwright drives only its
own Firefox builds. The site stand-ins are reached by name through Firefox's
``network.dns.localDomains`` (the names resolve to this machine) on the stand-ins' port.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Served, Stamp, free_port
from .marionette import ELEMENT, FIREFOX, Marionette, firefox_session
from .sites import FILES_HOST
from .test_capture_session import assert_unbroken_chain, wait_for

FIREFOX_EXTENSION = ROOT / "extension" / "test-build" / "firefox-e2e"
GECKO_ID = "extension@promptstamp.org"
# Firefox gives each add-on a random moz-extension:// host; the profile names it in advance instead.
INTERNAL_UUID = "5a1e5b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"


@pytest.fixture
def firefox(tmp_path: Path, sites: Served) -> Iterator[Marionette]:
    if not FIREFOX.exists():
        raise pytest.UsageError(f"the Firefox test needs {FIREFOX}; run it through 'make e2e' (or 'make firefox')")
    if not (FIREFOX_EXTENSION / "manifest.json").exists():
        raise pytest.UsageError(f"the Firefox test needs the built extension at {FIREFOX_EXTENSION}; "
                                "run 'make extension'")
    with firefox_session(tmp_path / "firefox-profile", free_port(), {
        "network.dns.localDomains": f"chatgpt.com,claude.ai,{FILES_HOST}",
        # HTTPS on the stand-ins' port: the sites' own URLs (no port) are what the adapters match.
        "network.socket.forcePort": f"443={sites.port}",
        "extensions.webextensions.uuids": json.dumps({GECKO_ID: INTERNAL_UUID}),
    }, {"acceptInsecureCerts": True}) as m:
        yield m


def _element(m: Marionette, css: str) -> str:
    found = m.command("WebDriver:FindElement", {"using": "css selector", "value": css})
    return str(found[ELEMENT])


def _text(m: Marionette, css: str) -> str:
    return str(m.command("WebDriver:GetElementText", {"id": _element(m, css)}))


def test_firefox_captures_a_chatgpt_turn_and_the_service_stamps_it(
        firefox: Marionette, sites: Served, stamp: Stamp) -> None:
    m = firefox
    assert m.command("Addon:Install", {"path": str(FIREFOX_EXTENSION), "temporary": True}) == GECKO_ID
    manifest = json.loads((FIREFOX_EXTENSION / "manifest.json").read_text())
    m.grant_origins(GECKO_ID, manifest["host_permissions"])
    base = f"moz-extension://{INTERNAL_UUID}"

    m.open_tab(f"{base}/options.html")
    wait_for("the options page", lambda: bool(m.script("return document.readyState === 'complete' && "
                                                        "!!document.querySelector('[data-testid=pair]')")))
    for css, text in (("[data-testid=server-url]", stamp.url), ("[data-testid=token]", stamp.token),
                      ("[data-testid=device-name]", "firefox e2e")):
        m.command("WebDriver:ElementSendKeys", {"id": _element(m, css), "text": text})
    m.command("WebDriver:ElementClick", {"id": _element(m, "[data-testid=pair]")})
    wait_for("pairing", lambda: _text(m, "[data-testid=pair-result]").startswith("Paired"))
    device = _text(m, "[data-testid=device-key]")
    assert len(device) == 16

    m.open_tab("https://chatgpt.com/")
    page_ready = ("return document.readyState === 'complete' && "
                  "typeof (window.wrappedJSObject || window).send === 'function'")
    wait_for("the site's page", lambda: bool(m.script(page_ready)))
    # The page's own script plays the user (behind an X-ray, page-defined functions are on wrappedJSObject).
    m.script("(window.wrappedJSObject || window).send('Describe a lighthouse in three words'); return true;")

    def records() -> list[dict[str, Any]]:
        sessions = stamp.get("/v1/sessions")["sessions"]
        if not sessions:
            return []
        view = stamp.get(f"/v1/sessions/chatgpt/{sessions[0]['id']}")
        return sorted(view["records"], key=lambda r: int(r["record"]["seq"]))

    wait_for("the turn's records at the service", lambda: "output" in [r["record"]["type"] for r in records()],
             timeout=60)
    time.sleep(1)
    got = records()
    types = [r["record"]["type"] for r in got]
    assert "prompt" in types and "output" in types and "drift" not in types
    prompt = next(r["record"] for r in got if r["record"]["type"] == "prompt")
    assert prompt["text"] == "Describe a lighthouse in three words"
    assert all(r["record"]["client"]["adapter"].startswith("chatgpt@") for r in got)
    assert all(r["receipt"]["device_key"] == device for r in got)
    assert_unbroken_chain(got)
