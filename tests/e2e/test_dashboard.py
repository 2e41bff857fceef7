"""The dashboard and the verify page in real Chromium against a real service: sign in, find a session, see
its images and prompt diff, download the bundle, verify it on the verify page; captured payloads run
nothing. Screenshots of each page go to test-artifacts/ for review."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from factories import Chain, attachment, png
from promptstamp.canonical import digest_of

from .conftest import ARTIFACTS, CHROMIUM, Stamp

PAYLOADS = ('<script>window.__pwned = "script"; alert("script")</script>',
            '<img src=x onerror="window.__pwned = \'img\'; alert(\'img\')">',
            '"><svg onload="window.__pwned = \'svg\'">')

# Runs before any page script: collects what a successful injection or a blocked inline script would leave.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));
"""


def _post(stamp: Stamp, path: str, **kw: Any) -> requests.Response:
    answer = requests.request(kw.pop("method", "POST"), stamp.url + path, timeout=30,
                              headers={"Authorization": f"Bearer {stamp.token}", **kw.pop("headers", {})}, **kw)
    assert answer.status_code in (200, 201), answer.text
    return answer


def _session(stamp: Stamp) -> Chain:
    image = png(48, 32, (220, 140, 40))
    _post(stamp, "/v1/blobs/" + attachment(image)["digest"], method="PUT", data=image,
          headers={"Content-Type": "image/png"})
    chain = Chain(site="chatgpt")
    records = [
        chain.next(text="a small cat sitting in a teacup, watercolour", params={"model": "img-1", "seed": 7}),
        chain.next("output", actor="ai", text="Here is your image. " + " ".join(PAYLOADS),
                   attachments=[attachment(image)], refs={"message_id": "msg-1"}),
        chain.next(text="a small ginger cat sitting in a porcelain teacup, watercolour",
                   params={"model": "img-1", "seed": 8}),
        chain.next("selection", refs={"message_id": "msg-1"}),
        chain.next("note", text="The first one: the light on the porcelain is what I wanted."),
    ]
    _post(stamp, "/v1/records", json=records)
    other = Chain(site="claude")
    _post(stamp, "/v1/records", json=[other.next(text="an unrelated poem about rivers")])
    return chain


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
            context.add_init_script(WATCH)
            tab = context.new_page()
            tab.dialogs = []  # type: ignore[attr-defined]
            tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
            yield tab
        finally:
            browser.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _clean(page: Any) -> None:
    """Nothing captured ran and the policy had nothing to block (no inline script or style of ours)."""
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.evaluate("window.__violations") == []


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_sign_in_find_a_session_see_its_images_and_diff_download_and_verify(page: Any, stamp: Stamp,
                                                                            tmp_path: Path) -> None:
    chain = _session(stamp)
    page.goto(stamp.url + "/app/")
    assert "/app/signin" in page.url
    _shot(page, "1-signin")
    page.fill("#token", stamp.token)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/app/")
    assert page.locator("table.list tbody tr").count() == 2
    _shot(page, "2-sessions")

    page.fill("#q", "porcelain")
    page.click("button:has-text('Find')")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1
    _shot(page, "3-sessions-search")
    rows.locator("a").first.click()
    page.wait_for_url(f"**/app/sessions/chatgpt/{chain.session_id}")

    # the prompt diff, the image (loaded through the CSP and the account-scoped blob route), the selection
    assert page.locator("ins", has_text="ginger").is_visible()
    assert page.locator("ins", has_text="porcelain").is_visible()
    thumb = page.locator("img.thumb").first
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.thumb').complete")
    assert thumb.evaluate("img => img.naturalWidth") == 48
    assert page.get_by_text("the creator selected the output of step").is_visible()
    # the payloads are shown as the text they are, and ran nothing
    for payload in PAYLOADS:
        assert payload in page.locator("li.kind-output pre.text").inner_text()
    _clean(page)
    _shot(page, "4-timeline")

    # A bundle is built (its PDF signed and time-stamped) before its first byte is sent: on a busy machine
    # that outlasts the click's wait for navigation, which a download never completes. Wait for the
    # download itself instead.
    with page.expect_download(timeout=120_000) as download_info:
        page.click("a:has-text('Download evidence bundle')", no_wait_after=True)
    bundle = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(bundle)
    assert bundle.suffix == ".asice" and bundle.stat().st_size > 1000

    page.locator("li.kind-output p.digest a").click()
    page.wait_for_selector("text=Time-stamp tokens")
    assert page.get_by_text("The signature verifies with service key").is_visible()
    assert page.get_by_text("leads to the batch root").is_visible()
    copy = page.locator("button.copy").first
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stamp.url)
    copy.click()
    expect(copy).to_have_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == copy.get_attribute("data-copy")
    _clean(page)
    _shot(page, "5-record")

    # anyone can verify, in their own browser: a fresh browser context, no sign-in
    page.context.clear_cookies()
    page.goto(stamp.url + "/verify")
    page.wait_for_selector("#verify-form")
    _shot(page, "6-verify-form")
    root = stamp.services.settings.tsas[0].ca_file
    page.set_input_files("#file", str(bundle))
    page.set_input_files("#tsa_root", str(root))
    page.fill("#trust_key_text", stamp.services.keyring.signing_key.id)
    page.click("button:has-text('Verify')")
    page.wait_for_selector("#status[data-state=done]", state="attached")
    verdict = page.locator(".verdict")
    # The built-in TSA's tokens carry its policy: untrusted even with its root given.
    assert verdict.inner_text().startswith("VALID BUT NOT TRUSTED")
    _clean(page)
    _shot(page, "7-verify-result")
    with page.expect_download() as json_info:
        page.click("a:has-text('Download the result as JSON')")
    result = json.loads(Path(json_info.value.path()).read_text())
    assert result["exit_code"] == 2 and result["counts"].get("fail", 0) == 0

    page.goto(stamp.url + "/keys")
    assert page.get_by_text(stamp.services.keyring.signing_key.id).first.is_visible()
    _clean(page)
    _shot(page, "8-keys")


def test_captured_html_and_script_render_as_text_and_run_nothing(page: Any, stamp: Stamp) -> None:
    chain = Chain(site="chatgpt")
    evil_title = '<img src=x onerror="window.__pwned=\'title\'">'
    records = [chain.next(text=PAYLOADS[0], params={PAYLOADS[1]: PAYLOADS[2]}, refs={"message_id": PAYLOADS[2]}),
               chain.next("output", actor="ai", text=" ".join(PAYLOADS)),
               chain.next("note", text=PAYLOADS[1])]
    for i, record in enumerate(records):  # a hostile page title on every step, chained as the extension would
        record["session"]["title"] = evil_title
        record["prev"] = digest_of(records[i - 1]) if i else None
    _post(stamp, "/v1/records", json=records)
    page.goto(stamp.url + "/app/signin")
    page.fill("#token", stamp.token)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/app/")
    assert evil_title in page.locator("table.list").inner_text()
    _clean(page)
    page.fill("#q", "window.__pwned")
    page.click("button:has-text('Find')")
    page.locator("table.list tbody a").first.click()
    page.wait_for_selector("ol.timeline")
    assert page.locator("h1").inner_text() == evil_title
    assert page.locator("img[src=x]").count() == 0 and page.locator("svg").count() == 0
    assert PAYLOADS[0] in page.locator("pre.text").first.inner_text()
    _clean(page)
    _shot(page, "9-hostile-timeline")
    page.locator("p.digest a").first.click()
    page.wait_for_selector("text=Time-stamp tokens")
    assert json.dumps(PAYLOADS[0]) in page.locator("pre.json").first.inner_text()
    _clean(page)


def test_verify_page_takes_a_dropped_file_and_says_what_is_wrong_with_it(page: Any, stamp: Stamp) -> None:
    page.goto(stamp.url + "/verify")
    page.wait_for_selector("#verify-form")
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["not a token"], "dropped.tsr"));
        const zone = document.querySelector("label.drop");
        for (const kind of ["dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(kind, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }""")
    assert page.locator(".drop-name").inner_text() == "dropped.tsr"
    assert page.evaluate("document.querySelector('#file').files[0].name") == "dropped.tsr"
    page.fill("#digest", "00" * 32)
    page.click("button:has-text('Verify')")
    expect(page.locator(".verdict")).to_contain_text("INVALID")
    assert page.locator("tr.fail").count() >= 1
    _clean(page)
    _shot(page, "10-verify-invalid")
