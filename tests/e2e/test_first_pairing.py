"""A new user's first pairing, in the built extension in real Chromium: each mistake a first try
makes gets a message naming what to change, the browser's permission prompt is explained before it
appears, and the options page and popup then say which service and account the device is paired
with and where its steps stand. Screenshots of every state go to test-artifacts/ for review."""

from __future__ import annotations

from typing import Any

from .conftest import ARTIFACTS, Browser, Served, Stamp, free_port
from .test_capture_session import wait_for

NOT_A_TOKEN = "ps_" + "A" * 43  # well formed, but no service ever issued it


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"first-pairing-{name}.png"), full_page=True)


def _try_pair(options: Any, url: str, token: str, expected: str, shot: str) -> str:
    options.fill("[data-testid=server-url]", url)
    options.fill("[data-testid=token]", token)
    options.evaluate("document.getElementById('pair-result').textContent = ''")
    options.click("[data-testid=pair]")
    options.wait_for_selector(f"[data-testid=pair-result]:has-text({expected!r})", timeout=20000)
    _shot(options, shot)
    text: str = options.text_content("[data-testid=pair-result]") or ""
    return text


def _account_of(stamp: Stamp) -> str:
    account_id: str = stamp.services.accounts.authenticate(stamp.token)
    return account_id


def _other_web_site(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Some other web server at the address typed: HTML pages, a 404 for what it does not have."""
    start_response("404 Not Found", [("Content-Type", "text/html")])
    return [b"<!doctype html><title>Not Found</title><h1>Not Found</h1>"]


def test_a_first_pairing_explains_every_mistake_then_shows_service_account_and_queue(
        browser: Browser, stamp: Stamp) -> None:
    # Some steps are captured before pairing: they wait on the device, and the popup says so.
    page = browser.context.new_page()
    page.goto("https://chatgpt.com/")
    tab = browser.tab_id("https://chatgpt.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")
    page.evaluate("send('Draw a lighthouse at dusk')")
    wait_for("4 steps queued", lambda: (popup.text_content("[data-testid=queue-queued]") or "").startswith("4 "))
    assert "Not paired with a service yet" in (popup.text_content("[data-testid=paired-with]") or "")
    _shot(popup, "popup-not-paired")

    # "Pair now" beside "Not paired" opens the options page, where pairing happens.
    with browser.context.expect_page() as opened:
        popup.click("[data-testid=pair-now]")
    options = opened.value
    options.wait_for_load_state()
    assert options.url == f"chrome-extension://{browser.extension_id}/options.html"
    options.wait_for_selector("[data-testid=paired-with]")
    assert "Not paired" in (options.text_content("[data-testid=paired-with]") or "")
    _shot(options, "options-new")

    # Field checks, before the browser is asked anything or a request is sent.
    _try_pair(options, "", stamp.token, "Enter your PromptStamp service's address", "empty-address")
    assert options.get_attribute("[data-testid=server-url]", "aria-invalid") == "true"
    _try_pair(options, "ftp://127.0.0.1", stamp.token, "must start with https://", "wrong-scheme")
    _try_pair(options, stamp.url, "", "Paste your token", "empty-token")
    assert options.get_attribute("[data-testid=token]", "aria-invalid") == "true"
    assert options.get_attribute("[data-testid=server-url]", "aria-invalid") == "false"
    _try_pair(options, stamp.url, stamp.token[:30], "The token is too short", "short-token")
    _try_pair(options, stamp.url, "0123456789abcdef01234567", "starts with ps_", "account-id-as-token")

    # The service's answers, in words: another web site, nothing listening, a token it does not know.
    other = Served(_other_web_site)
    other.start()
    try:
        text = _try_pair(options, f"http://127.0.0.1:{other.port}", stamp.token, "is not a PromptStamp service",
                         "not-promptstamp")
        assert f"127.0.0.1:{other.port} answered" in text
    finally:
        other.stop()
    silent = free_port()
    text = _try_pair(options, f"127.0.0.1:{silent}", stamp.token, "Cannot reach", "unreachable")
    assert f"Cannot reach 127.0.0.1:{silent}." in text
    _try_pair(options, stamp.url, NOT_A_TOKEN, "did not accept this token", "unknown-token")
    account, revoked = stamp.services.accounts.create("former collaborator")
    stamp.services.accounts.revoke_token(account.id, revoked)
    _try_pair(options, stamp.url, revoked, "did not accept this token", "revoked-token")
    assert "Not paired" in (options.text_content("[data-testid=paired-with]") or "")

    # An address the browser has not allowed yet: the prompt is explained first, and can be declined.
    options.fill("[data-testid=server-url]", f"http://localhost:{stamp.port}")
    options.fill("[data-testid=token]", stamp.token)
    options.click("[data-testid=pair]")
    options.wait_for_selector("[data-testid=permission-explainer]", state="visible")
    assert options.text_content("[data-testid=permission-host]") == f"localhost:{stamp.port}"
    assert "choose Allow" in " ".join((options.text_content("[data-testid=permission-explainer]") or "").split())
    _shot(options, "permission-explained")
    options.click("[data-testid=permission-cancel]")
    assert options.is_hidden("[data-testid=permission-explainer]")
    assert "Not paired" in (options.text_content("[data-testid=pair-result]") or "")

    # The good pairing: a bare host:port is enough; the service names the account.
    options.fill("[data-testid=device-name]", "studio laptop")
    text = _try_pair(options, f"127.0.0.1:{stamp.port}", f"  {stamp.token}\n", "Paired.", "paired")
    assert f"sent to 127.0.0.1:{stamp.port} to be signed" in text
    options.wait_for_selector("[data-testid=paired-account]:has-text('e2e creator')")
    assert options.text_content("[data-testid=paired-service]") == f"127.0.0.1:{stamp.port}"
    assert options.input_value("[data-testid=server-url]") == stamp.url

    # The steps queued before pairing go up; the popup and options say where they stand.
    def settled(view: Any) -> bool:
        queued = view.text_content("[data-testid=queue-queued]") or ""
        stamped = view.text_content("[data-testid=queue-stamped]") or ""
        return queued.startswith("0 ") and stamped.startswith("4 ")

    wait_for("the 4 steps stamped (popup)", lambda: settled(popup), timeout=60)
    paired_with = " ".join((popup.text_content("[data-testid=paired-with]") or "").split())
    assert paired_with == f"Paired with 127.0.0.1:{stamp.port} as e2e creator"
    assert (popup.text_content("[data-testid=queue-rejected]") or "").startswith("0 ")
    assert (popup.text_content("[data-testid=last-upload]") or "").startswith("Last upload: ")
    _shot(popup, "popup-paired")
    wait_for("the 4 steps stamped (options)", lambda: settled(options), timeout=10)
    _shot(options, "options-paired")

    # A token revoked after pairing is found by the next upload; the options page says what to do.
    stamp.services.accounts.revoke_token(_account_of(stamp), stamp.token)
    page.evaluate("send('And a second one at dawn')")
    options.wait_for_selector("[data-testid=token-refused]:has-text('no longer accepts')", timeout=30000)
    assert "paste a new token above" in (options.text_content("[data-testid=token-refused]") or "")
    _shot(options, "options-token-revoked")
    popup.wait_for_selector("[data-testid=token-refused]")
    _shot(popup, "popup-token-revoked")

    # Forgetting the token says so in both places; the service is still named.
    options.click("[data-testid=unpair]")
    wait_for("options shows unpaired", lambda: "Not paired (last service: 127.0.0.1:"
             in (options.text_content("[data-testid=paired-with]") or ""))
    wait_for("popup shows unpaired", lambda: "Not paired" in (popup.text_content("[data-testid=paired-with]") or ""))
    assert options.locator("[data-testid=last-problem]").count() == 0  # the forgotten token's refusal went with it

    # "Continue" hands over to the browser's own prompt, and the page says it is waiting for the answer
    # (headless Chromium never answers it, so this is the last step).
    options.fill("[data-testid=server-url]", f"http://localhost:{stamp.port}")
    options.fill("[data-testid=token]", stamp.token)
    options.click("[data-testid=pair]")
    options.click("[data-testid=permission-continue]")
    options.wait_for_selector("[data-testid=pair-result]:has-text('Waiting for your answer to the browser')")
    assert f"localhost:{stamp.port}" in (options.text_content("[data-testid=pair-result]") or "")
    assert options.is_hidden("[data-testid=permission-explainer]")
    _shot(options, "permission-asked")
