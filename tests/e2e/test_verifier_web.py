"""The browser verifier in Chromium: the served /verify page and the standalone verify.html give the verdicts
``promptstamp verify`` gives, check for check, on the shared corpus and on real third-party tokens, and the
page uploads nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from promptstamp.config import Settings
from promptstamp.services import build_services
from promptstamp.verdict import Report
from promptstamp.verify import trust_from_pems, verify_input
from promptstamp.web import create_app
from promptstamp.web.verifier_assets import verifier_html
from renewal_corpus import RENEWALS, manifest_rows

from .conftest import CHROMIUM, Served

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CORPUS = ASSETS / "corpus"
REAL = ASSETS / "real-tsa"


def _corpus() -> list[tuple[str, str, str, int]]:
    cases = []
    for line in (CORPUS / "MANIFEST").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            bundle, root, key, code, *_ = line.split("\t")
            cases.append((bundle, root, key, int(code)))
    return cases


# Real tokens (tests/assets/real-tsa/README.md): token, stamped data, roots, extra certificates.
GS_ROOT = "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"
REAL_CASES = [
    ("digicert-2025/response.tsr", "digicert-2025/data.txt", ["digicert-2025/root-DigiCert_Trusted_Root_G4.pem"], []),
    ("identrust-2025/token.tst", "identrust-2025/data.txt",
     ["identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem"], []),
    ("freetsa-2024/response.tsr", "freetsa-2024/data.txt", ["freetsa-2024/root-freetsa_cacert.pem"], []),
    ("globalsign-g4-2021/response.tsr", "globalsign-g4-2021/data.txt", [GS_ROOT], []),
    ("globalsign-g4-2021/token-no-certs.tst", "globalsign-g4-2021/data.txt",
     [GS_ROOT], ["globalsign-g4-2021/embedded-certs.pem"]),
    ("globalsign-g4-2021/token-invalid-signature.tst", "globalsign-g4-2021/data.txt",
     [GS_ROOT], []),
    ("globalsign-g4-2021/token-mismatch-esscertid.tst", "globalsign-g4-2021/data.txt",
     [GS_ROOT], []),
    ("globalsign-g4-2021/token-bad-imprint-alg.tst", "globalsign-g4-2021/data.txt",
     [GS_ROOT], []),
    ("globalsign-adobe-cds-2017/response-rejection.tsr", "globalsign-adobe-cds-2017/data.txt", [], []),
    ("globalsign-adobe-cds-2017/response-nonce.tsr", "globalsign-adobe-cds-2017/data.txt", [], []),
    ("sinpe-costa-rica-2025/response.tsr", "sinpe-costa-rica-2025/data.txt", [], []),
    ("sigstage-2025/response-sha384.tsr", "sigstage-2025/hello.txt", ["sigstage-2025/ts_chain.pem"], []),
    ("sigstage-2025/response-no-embedded-cert.tsr", "sigstage-2025/hello.txt", ["sigstage-2025/ts_chain.pem"],
     ["sigstage-2025/ts_chain.pem"]),
    ("sigstage-2025/response-invalid-signature.tsr", "sigstage-2025/hello.txt", ["sigstage-2025/ts_chain.pem"], []),
]
# What the MANIFEST of the real tokens says a strict verifier must answer (exit code).
REAL_EXPECTED = {"digicert-2025/response.tsr": 0, "identrust-2025/token.tst": 0, "freetsa-2024/response.tsr": 0,
                 "globalsign-g4-2021/response.tsr": 0, "globalsign-g4-2021/token-no-certs.tst": 0,
                 "globalsign-g4-2021/token-invalid-signature.tst": 1,
                 "globalsign-g4-2021/token-mismatch-esscertid.tst": 1,
                 "globalsign-g4-2021/token-bad-imprint-alg.tst": 1,
                 "globalsign-adobe-cds-2017/response-rejection.tsr": 1,
                 "globalsign-adobe-cds-2017/response-nonce.tsr": 2, "sinpe-costa-rica-2025/response.tsr": 2,
                 "sigstage-2025/response-sha384.tsr": 0, "sigstage-2025/response-no-embedded-cert.tsr": 0,
                 "sigstage-2025/response-invalid-signature.tsr": 1}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    services = build_services(Settings(data_dir=tmp_path_factory.mktemp("service")), recover=False, upkeep=False)
    served = Served(create_app(services=services))
    served.start()
    yield served
    served.stop()
    services.close()


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    html = verifier_html()
    assert html is not None, "the browser verifier is not built: run 'make verifier-web'"
    path = tmp_path_factory.mktemp("offline") / "verify.html"
    path.write_bytes(html)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(params=["served", "standalone"])
def page_url(request: pytest.FixtureRequest, service: Served, standalone: Path) -> str:
    return f"http://127.0.0.1:{service.port}/verify" if request.param == "served" else standalone.as_uri()


def in_browser(browser: Any, url: str, evidence: Path, *, roots: list[Path] = (), keys: list[Path] = (),  # type: ignore[assignment]
               data: Path | None = None, certs: list[Path] = (), at: str = "",  # type: ignore[assignment]
               then: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """The page's report (its JSON, with the plain-words verdict); ``then`` looks at the page before it closes."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector("#verify-form")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.set_input_files("#file", str(evidence))
        for selector, files in (("#tsa_root", roots), ("#trust_key", keys), ("#certs", certs)):
            if files:
                page.set_input_files(selector, [str(f) for f in files])
        if data is not None:
            page.set_input_files("#data", str(data))
        if at:
            page.fill("#at", at)
        page.click("#verify-form button[type=submit]")
        page.wait_for_selector("#status[data-state=done]", state="attached", timeout=60_000)
        assert not errors, errors
        assert [r for r in requests if not r.startswith("blob:")] == [], "the page must upload nothing"
        if page.locator("#error").is_visible():
            return {"error": page.locator("#error").inner_text()}
        result: dict[str, Any] = json.loads(page.locator("#report-json").text_content() or "")
        assert page.locator(".verdict").get_attribute("data-exit-code") == str(result["exit_code"])
        result["plain"] = page.locator("#plain-verdict").inner_text()
        if then is not None:
            then(page)
        return result
    finally:
        page.close()


def python_report(evidence: Path, roots: list[Path], keys: list[Path], *, data: Path | None = None,
                  certs: list[Path] = (), at: str = "") -> Report:  # type: ignore[assignment]
    # Playwright's sync API keeps an event loop running in this thread; the verifier runs its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_python_report, evidence, roots, keys, data, certs, at).result()


def _python_report(evidence: Path, roots: list[Path], keys: list[Path], data: Path | None,
                   certs: list[Path], at: str) -> Report:
    trust, intermediates = trust_from_pems([r.read_bytes() for r in roots], [k.read_bytes() for k in keys])
    if at:
        trust = replace(trust, at=datetime.fromisoformat(at.replace("Z", "+00:00")))
    from promptstamp import tokens

    extra = intermediates + tuple(d for c in certs for d in tokens.load_pem_certificates(c.read_bytes()))
    return verify_input(evidence.read_bytes(), trust, stamped=data.read_bytes() if data else None, extra_certs=extra)


# The browser reads report.html, README.txt (derived) and report.pdf (exhibit) as the exporter's text, in a
# note: it does not re-render reports (the service's renderer is Python) nor check PDF signatures.
NOT_IN_THE_BROWSER = ("derived", "exhibit")
# Checks of the "author" step the browser leaves to promptstamp verify (it notes each record instead):
# the service's account and pairing statements, and whether each device is paired to the account.
AUTHOR_NOT_IN_THE_BROWSER = ("account record", "pairing record", "device paired to the account")
# Bundles whose only fault lies in those checks: the browser says VALID with a note.
BROWSER_WEAKER = {"unpaired-device.asice"}



def _in_browser_scope(c: dict[str, str]) -> bool:
    author_only = c["step"] == "author" and c["check"] in AUTHOR_NOT_IN_THE_BROWSER
    return c["step"] not in NOT_IN_THE_BROWSER and not author_only


def rows(checks: list[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    """Every check but those the browser leaves to promptstamp verify."""
    return [(c["step"], c["subject"], c["check"], c["outcome"]) for c in checks if _in_browser_scope(c)]


def exit_code(checks: list[dict[str, str]]) -> int:
    outcomes = [c["outcome"] for c in checks if _in_browser_scope(c)]
    if "fail" in outcomes or "ok" not in outcomes:
        return 1
    return 2 if "untrusted" in outcomes else 0


@pytest.mark.parametrize(("bundle", "root", "key", "code"), _corpus(), ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in _corpus()])
def test_corpus_verdicts_match_promptstamp_verify(browser: Any, page_url: str, bundle: str, root: str, key: str,
                                                  code: int) -> None:
    roots = [CORPUS / root]
    keys = [CORPUS / key] if key != "-" else []
    got = in_browser(browser, page_url, CORPUS / bundle, roots=roots, keys=keys)
    expected = python_report(CORPUS / bundle, roots, keys).to_json()
    assert got["exit_code"] == exit_code(expected["checks"]) == (0 if bundle in BROWSER_WEAKER else code), \
        got.get("verdict")
    assert rows(got["checks"]) == rows(expected["checks"])  # the same checks, in the same order, same outcomes
    assert all(c["outcome"] == "note" for c in got["checks"] if c["step"] in NOT_IN_THE_BROWSER)
    assert sorted(got["rests_on"]) == sorted(expected["rests_on"])
    # The page leads with the verdict in plain words, the details folded below it.
    lead = {0: "Valid and trusted", 1: "Not valid", 2: "Intact, but not proven to you"}[got["exit_code"]]
    assert got["plain"].startswith(lead), got["plain"]
    if bundle == "tampered-record.asice":
        assert "Step 1, the prompt, was changed after it was stamped." in got["plain"], got["plain"]


@pytest.mark.parametrize(("bundle", "at", "code"), manifest_rows(),
                         ids=[f"{r[0]}@{r[1][:10]}" for r in manifest_rows()])
def test_evidence_records_get_the_verdicts_of_promptstamp_verify_at_the_time_given(
        browser: Any, page_url: str, bundle: str, at: str, code: int) -> None:
    roots, keys = [RENEWALS / "tsa-roots.pem"], [RENEWALS / "service-key.pem"]
    got = in_browser(browser, page_url, RENEWALS / bundle, roots=roots, keys=keys, at=at)
    expected = python_report(RENEWALS / bundle, roots, keys, at=at).to_json()
    assert got["exit_code"] == expected["exit_code"] == code, got["verdict"]
    assert rows(got["checks"]) == rows(expected["checks"])
    assert sorted(got["rests_on"]) == sorted(expected["rests_on"])
    # In the same words: the long-term verdicts, and the tokens with their archived revocation data judged.
    for check in ("time-stamp valid long-term", "time-stamp over the batch root"):
        details = [[c["detail"] for c in r["checks"] if c["check"] == check] for r in (got, expected)]
        assert details[0] == details[1], check


@pytest.mark.parametrize(("token", "data", "roots", "certs"), REAL_CASES, ids=[c[0] for c in REAL_CASES])
def test_real_tokens_match_the_manifest_and_promptstamp_verify(browser: Any, page_url: str, token: str, data: str,
                                                               roots: list[str], certs: list[str]) -> None:
    root_files, cert_files = [REAL / r for r in roots], [REAL / c for c in certs]
    got = in_browser(browser, page_url, REAL / token, roots=root_files, data=REAL / data, certs=cert_files)
    expected = python_report(REAL / token, root_files, [], data=REAL / data, certs=cert_files).to_json()
    assert got["exit_code"] == expected["exit_code"] == REAL_EXPECTED[token], got
    failed = [c["check"] for c in got["checks"] if c["outcome"] != "ok"]
    assert failed == [c["check"] for c in expected["checks"] if c["outcome"] != "ok"], got["checks"]


TOKENS = ASSETS / "tokens"  # one named token per failure mode (tests/assets/tokens/README.md)


@pytest.mark.parametrize("name", sorted(p.name for p in TOKENS.glob("*.tsr")))
def test_every_failure_mode_token_gets_the_verdict_promptstamp_verify_gives(browser: Any, service: Served,
                                                                         name: str, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"PromptStamp test asset\n")
    roots = [TOKENS / "root.pem"]
    got = in_browser(browser, f"http://127.0.0.1:{service.port}/verify", TOKENS / name, roots=roots, data=data)
    expected = python_report(TOKENS / name, roots, [], data=data).to_json()
    assert got["exit_code"] == expected["exit_code"], (got["checks"], expected["checks"])
    outcomes = [[(c["check"], c["outcome"]) for c in r["checks"]] for r in (got, expected)]
    assert outcomes[0] == outcomes[1]


def test_bad_input_is_explained_in_the_page(browser: Any, page_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "x.tst"
    junk.write_bytes(b"\x30\x03\x02\x01\x00")
    assert "needs exactly one of" in in_browser(browser, page_url, junk)["error"]
    zipped = tmp_path / "not-a-bundle.asice"
    zipped.write_bytes(b"PK\x05\x06" + bytes(18))
    report = in_browser(browser, page_url, zipped)
    assert report["exit_code"] == 1 and report["checks"][0]["step"] == "container"


@dataclass(frozen=True)
class BigBundle:
    evidence: Path
    root: Path
    key: Path
    expected: dict[str, Any]  # promptstamp verify's report


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> BigBundle:
    """10,100 steps: more than 20,000 files (each step is a record and a receipt), past the server's upload
    limit, which sends such evidence to the page; enough for the page to check its records in Web Workers."""
    import io

    from bundle_sample import OpensslTsa, sample_session
    from promptstamp import bundle

    work = tmp_path_factory.mktemp("big")
    tsa = OpensslTsa(work / "tsa", name="big-tsa")
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=10_100, batch_size=512,
                             image_every=1000)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    evidence, root, key = work / "big.asice", work / "root.pem", work / "key.pem"
    evidence.write_bytes(out.getvalue())
    root.write_text(tsa.root_pem)
    key.write_text(session.key.public.pem)
    return BigBundle(evidence, root, key, python_report(evidence, [root], [key]).to_json())


def test_a_bundle_of_ten_thousand_steps_verifies_in_the_page_as_promptstamp_verify_says(
        browser: Any, standalone: Path, big_bundle: BigBundle) -> None:
    """The page opens it, gets promptstamp verify's checks, and builds the tens of thousands of rows that hold only
    when their group is opened."""

    def rows_built_when_opened(page: Any) -> None:
        records = page.locator("details.checks[data-step=records]")
        assert records.locator("tbody tr").count() == 0  # folded, and not built yet
        records.locator("summary").click()
        records.locator("tbody tr").first.wait_for(state="attached")  # built by the toggle event, once open
        built = records.locator("tbody tr").count()
        records.locator("summary").click()
        records.locator("summary").click()
        page.wait_for_function("document.querySelector('details.checks[data-step=records]').open")
        # Its toggle events (queued when it closed and opened) have run two frames later.
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        assert records.locator("tbody tr").count() == built and records.locator("table").count() == 1  # built once
        shown.append(built)

    shown: list[int] = []
    b = big_bundle
    got = in_browser(browser, standalone.as_uri(), b.evidence, roots=[b.root], keys=[b.key],
                     then=rows_built_when_opened)
    assert int(got["checks"][0]["detail"].split()[2]) > 20_000  # "ZIP with N files, ...": past the old limit
    assert got["exit_code"] == b.expected["exit_code"] == 0, got["verdict"]
    assert rows(got["checks"]) == rows(b.expected["checks"])
    assert shown == [sum(1 for c in got["checks"] if c["step"] == "records")] and shown[0] > 40_000
