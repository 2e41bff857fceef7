"""The browser verifier in Firefox (the distribution's firefox-esr, headless, over Marionette): the standalone
verify.html gives the checks and verdicts of ``promptstamp verify`` on the shared corpus, as it does in
Chromium (test_verifier_web.py), with Firefox's own WebCrypto (Ed25519, SHA-2, ECDSA and RSA)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port
from .marionette import ELEMENT, FIREFOX, Marionette, firefox_session
from .test_capture_session import wait_for
from .test_verifier_web import (
    BROWSER_WEAKER,
    CORPUS,
    NOT_IN_THE_BROWSER,
    BigBundle,
    _corpus,
    big_bundle,  # noqa: F401  (fixtures of the Chromium tests, made again for this module)
    exit_code,
    python_report,
    rows,
    standalone,  # noqa: F401
)


@pytest.fixture(scope="module")
def firefox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marionette]:
    if not FIREFOX.exists():
        raise pytest.UsageError(f"the Firefox tests need {FIREFOX}; run them through 'make test' (or 'make firefox')")
    with firefox_session(tmp_path_factory.mktemp("firefox-profile"), free_port(), {}) as m:
        yield m


@pytest.fixture(scope="module")
def page_url(request: pytest.FixtureRequest) -> str:
    page: Path = request.getfixturevalue("standalone")  # the Chromium tests' copy of verify.html
    return page.as_uri()


def _element(m: Marionette, css: str) -> str:
    return str(m.command("WebDriver:FindElement", {"using": "css selector", "value": css})[ELEMENT])


def in_firefox(m: Marionette, url: str, evidence: Path, roots: list[Path], keys: list[Path]) -> dict[str, Any]:
    """Choose the files, press Verify, and read the report the page shows (its JSON)."""
    m.command("WebDriver:Navigate", {"url": url})
    wait_for("the verify page", lambda: bool(m.script("return !!document.querySelector('#verify-form')")))
    # WebDriver sets a file input from a path; a multiple input takes one path per line.
    for css, files in (("#file", [evidence]), ("#tsa_root", roots), ("#trust_key", keys)):
        if files:
            m.command("WebDriver:ElementSendKeys", {"id": _element(m, css), "text": "\n".join(map(str, files))})
    m.command("WebDriver:ElementClick", {"id": _element(m, "#verify-form button[type=submit]")})
    wait_for("the verdict", lambda: m.script("return document.querySelector('#status').dataset.state") == "done",
             timeout=300)
    failed = m.script("const e = document.querySelector('#error'); return e.hidden ? null : e.textContent")
    assert failed is None, failed
    result: dict[str, Any] = json.loads(m.script("return document.querySelector('#report-json').textContent"))
    shown = m.script("return document.querySelector('.verdict').dataset.exitCode")
    assert shown == str(result["exit_code"])
    return result


@pytest.mark.parametrize(("bundle", "root", "key", "code"), _corpus(), ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in _corpus()])
def test_corpus_verdicts_in_firefox_match_promptstamp_verify(firefox: Marionette, page_url: str, bundle: str,
                                                             root: str, key: str, code: int) -> None:
    roots = [CORPUS / root]
    keys = [CORPUS / key] if key != "-" else []
    got = in_firefox(firefox, page_url, CORPUS / bundle, roots, keys)
    expected = python_report(CORPUS / bundle, roots, keys).to_json()
    assert got["exit_code"] == exit_code(expected["checks"]) == (0 if bundle in BROWSER_WEAKER else code), \
        got.get("verdict")
    assert rows(got["checks"]) == rows(expected["checks"])  # the same checks, in the same order, same outcomes
    assert all(c["outcome"] == "note" for c in got["checks"] if c["step"] in NOT_IN_THE_BROWSER)


def test_a_bundle_of_ten_thousand_steps_verifies_in_firefox_as_promptstamp_verify_says(
        firefox: Marionette, page_url: str, request: pytest.FixtureRequest) -> None:
    """Past 20,000 files, the server's upload limit, which sends such evidence to the page."""
    b: BigBundle = request.getfixturevalue("big_bundle")
    got = in_firefox(firefox, page_url, b.evidence, [b.root], [b.key])
    assert got["exit_code"] == b.expected["exit_code"] == 0, got["verdict"]
    assert int(got["checks"][0]["detail"].split()[2]) > 20_000  # "ZIP with N files, ...": past the old limit
    assert rows(got["checks"]) == rows(b.expected["checks"])
