"""The dashboard in-process: sign-in and cookies, CSRF, account scoping, sessions list, timeline, record page,
images, bundle download, and the safety of every page (headers, escaping of captured content)."""

from __future__ import annotations

import html
import re
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from conftest import Api, make_services
from factories import Chain, attachment, png
from promptstamp import layout
from promptstamp.canonical import canonicalize, digest_of
from promptstamp.services import Services
from promptstamp.verdict import Trust
from promptstamp.verify import verify_input
from promptstamp.web import create_app

EVIL_SCRIPT = '<script>window.__pwned = 1; alert("pwned")</script>'
EVIL_IMG = '<img src=x onerror="window.__pwned = 2">'
EVIL_ATTR = '"><svg onload="window.__pwned = 3">'
PAGES = ("/app/signin", "/verify", "/keys")


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def sign_in(client: FlaskClient, token: str) -> None:
    page = client.get("/app/signin")
    answer = client.post("/app/signin", data={"token": token, "csrf": csrf_of(page.text)})
    assert answer.status_code == 302, answer.text


def chained(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Re-link prev after a test edited records, as the extension would have linked them."""
    for i, r in enumerate(records):
        r["prev"] = digest_of(records[i - 1]) if i else None
    return records


def post_all(api: Api, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 1000):
        answer = api.post("/v1/records", records[start:start + 1000])
        assert answer.status_code == 201, answer.get_json()


def image_session(api: Api, *, site: str = "chatgpt", title: str = "Teacup cat") -> tuple[Chain, bytes]:
    """What a timeline shows: a prompt, an image output, a revised prompt (a diff), a parameter change, a
    selection of the output and a note; captured content carries script payloads."""
    image = png(16, 12, (30, 120, 200))
    assert api.put("/v1/blobs/" + attachment(image)["digest"], image, "image/png").status_code in (200, 201)
    chain = Chain(site=site)
    records = [
        chain.next(text="a small cat sitting in a teacup", params={"model": "img-1", "seed": 7}),
        chain.next("output", actor="ai", text=f"Here it is. {EVIL_SCRIPT} {EVIL_IMG}",
                   attachments=[attachment(image)], refs={"message_id": "msg-1"}),
        chain.next(text="a small ginger cat sitting in a porcelain teacup", params={"model": "img-1", "seed": 8}),
        chain.next("selection", refs={"message_id": "msg-1"}),
        chain.next("note", text=f"I chose the first one for its light {EVIL_ATTR}"),
    ]
    for r in records:
        r["session"]["title"] = title
    post_all(api, chained(records))
    return chain, image


@pytest.fixture
def browser(app: Flask, api: Api) -> FlaskClient:
    client = app.test_client()
    sign_in(client, api.token)
    return client


# -- sign-in, cookies, CSRF ---------------------------------------------------------------------------

def test_pages_need_sign_in_and_come_back_after_it(app: Flask, api: Api) -> None:
    chain, _ = image_session(api)
    client = app.test_client()
    target = f"/app/sessions/chatgpt/{chain.session_id}"
    answer = client.get(target)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/app/signin?next=")
    page = client.get(answer.headers["Location"])
    back = client.post("/app/signin", data={"token": api.token, "csrf": csrf_of(page.text), "next": target})
    assert back.headers["Location"] == target
    assert client.get(target).status_code == 200


def test_sign_in_refuses_unknown_tokens_without_saying_more(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/app/signin")
    answer = client.post("/app/signin", data={"token": "ps_" + "A" * 43, "csrf": csrf_of(page.text)})
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert client.get("/app/").status_code == 302


def test_cookie_is_httponly_lax_and_secure_over_https(app: Flask, api: Api) -> None:
    client = app.test_client()
    sign_in(client, api.token)
    cookie = client.get_cookie("promptstamp_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    assert api.token not in cookie.value  # the cookie holds the account, never the token

    https = app.test_client()
    page = https.get("/app/signin", base_url="https://localhost")
    answer = https.post("/app/signin", base_url="https://localhost",
                        data={"token": api.token, "csrf": csrf_of(page.text)})
    assert "Secure" in answer.headers["Set-Cookie"] and "HttpOnly" in answer.headers["Set-Cookie"]
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forms_without_the_csrf_token_are_refused(app: Flask, api: Api) -> None:
    client = app.test_client()
    assert client.post("/app/signin", data={"token": api.token}).status_code == 400
    client.get("/app/signin")
    assert client.post("/app/signin", data={"token": api.token, "csrf": "forged"}).status_code == 400
    sign_in(client, api.token)
    refused = client.post("/app/signout", data={})
    assert refused.status_code == 400 and "expired" in refused.text
    assert client.get("/app/").status_code == 200  # still signed in
    # /verify takes no form at all: the browser verifies, nothing is posted.
    verify = client.post("/verify", data={"file": (BytesIO(b"x"), "x.tsr")}, content_type="multipart/form-data")
    assert verify.status_code == 405


def test_sign_out_ends_the_session(browser: FlaskClient) -> None:
    page = browser.get("/app/")
    assert browser.post("/app/signout", data={"csrf": csrf_of(page.text)}).status_code == 302
    assert browser.get("/app/").status_code == 302


def test_sign_in_lasts_twelve_hours_from_sign_in(browser: FlaskClient) -> None:
    import time

    with browser.session_transaction() as cookie_session:
        cookie_session["since"] = int(time.time()) - 11 * 3600
    assert browser.get("/app/").status_code == 200
    with browser.session_transaction() as cookie_session:
        cookie_session["since"] = int(time.time()) - 13 * 3600
    assert browser.get("/app/").status_code == 302


def test_sign_in_never_redirects_off_site(app: Flask, api: Api) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client = app.test_client()
        page = client.get("/app/signin")
        answer = client.post("/app/signin", data={"token": api.token, "csrf": csrf_of(page.text), "next": evil})
        assert answer.headers["Location"] == "/app/", evil


def test_session_secret_comes_from_the_service_key_so_every_instance_accepts_the_cookie(
        tmp_path: Path, services: Services, app: Flask, api: Api) -> None:
    client = app.test_client()
    sign_in(client, api.token)
    cookie = client.get_cookie("promptstamp_session")
    assert cookie is not None
    twin = create_app(services=services)  # another worker or host of the same deployment
    other = twin.test_client()
    other.set_cookie("promptstamp_session", cookie.value)
    assert other.get("/app/").status_code == 200
    assert twin.secret_key == app.secret_key and app.secret_key != services.keyring.signing_key.seed

    stranger = make_services(tmp_path / "other")  # another deployment: its own key, its own secret
    try:
        foreign = create_app(services=stranger).test_client()
        foreign.set_cookie("promptstamp_session", cookie.value)
        assert foreign.get("/app/").status_code == 302
    finally:
        stranger.close()


# -- scoping ------------------------------------------------------------------------------------------

def test_another_account_sees_nothing_of_this_one(app: Flask, api: Api, other_api: Api) -> None:
    chain, image = image_session(api)
    record_id = api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"][0]["record"]["id"]
    client = app.test_client()
    sign_in(client, other_api.token)
    assert chain.session_id not in client.get("/app/").text
    digest = attachment(image)["digest"]
    for path in (f"/app/sessions/chatgpt/{chain.session_id}", f"/app/records/{record_id}",
                 f"/app/blobs/{digest}", f"/app/bundle/chatgpt/{chain.session_id}"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert chain.session_id not in answer.text and "Teacup" not in answer.text


# -- sessions list ------------------------------------------------------------------------------------

def test_sessions_list_searches_text_filters_by_site_and_pages(browser: FlaskClient, api: Api) -> None:
    records = []
    for i in range(30):
        chain = Chain(site="claude" if i % 3 == 0 else "chatgpt", session_id=f"conv-{i:02d}")
        rec = chain.next(text=f"painting number {i} of a lighthouse" + (" in fog" if i == 7 else ""))
        rec["session"]["title"] = f"Session {i:02d}"
        records.append(rec)
    post_all(api, records)

    first = browser.get("/app/")
    assert "30 sessions" in first.text and "page 1 of 2" in first.text
    assert first.text.count("/app/sessions/") == 25
    second = browser.get("/app/?page=2")
    assert second.text.count("/app/sessions/") == 5
    assert browser.get("/app/?page=99").text.count("/app/sessions/") == 5  # clamped to the last page

    fog = browser.get("/app/?q=LIGHTHOUSE+fog")  # words from a prompt, any case, all must match
    assert fog.text.count("/app/sessions/") == 1 and "conv-07" in fog.text
    claude = browser.get("/app/?site=claude")
    assert claude.text.count("/app/sessions/claude/") == 10 and "/app/sessions/chatgpt/" not in claude.text
    assert "1 session match" in browser.get("/app/?q=conv-12").text
    assert "No session matches" in browser.get("/app/?q=nothing-like-this").text


def test_index_objects_written_before_snippets_still_list(
        services: Services, browser: FlaskClient, api: Api) -> None:
    chain, _ = image_session(api, title="Legacy session")
    keys = list(services.store.list(layout.session_prefix(api.account, "chatgpt", chain.session_id)))
    import json
    index = json.loads(services.store.get(keys[0]))
    old = {**index, "session": "legacy-1",
           "records": [{k: v for k, v in e.items() if k != "snippet"} for e in index["records"]]}
    services.store.put(layout.session_index(api.account, "chatgpt", "legacy-1", "01AAAAAAAAAAAAAAAAAAAAAAAA"),
                       canonicalize(old))
    page = browser.get("/app/?q=legacy")
    assert "legacy-1" in page.text and chain.session_id in page.text
    assert "legacy-1" not in browser.get("/app/?q=teacup").text  # no snippet: found by title and id only


# -- timeline -----------------------------------------------------------------------------------------

def test_timeline_shows_the_report_with_diffs_images_selection_and_escaped_content(
        browser: FlaskClient, api: Api) -> None:
    chain, image = image_session(api)
    page = browser.get(f"/app/sessions/chatgpt/{chain.session_id}")
    assert page.status_code == 200
    text = page.text
    assert "What the human did, and what the AI produced" in text and "Selections and notes" in text
    assert "<ins>ginger </ins>" in text and "<ins>porcelain </ins>" in text  # the prompt diff
    # Settings sent with a prompt are shown with it; only parameters records count as the human's settings.
    assert "<tr><th>seed</th><td>8</td></tr>" in text
    digest = attachment(image)["digest"]
    assert f'<img class="thumb" src="/app/blobs/{digest}"' in text  # a thumbnail...
    assert f'<a href="/app/blobs/{digest}" target="_blank"' in text  # ...that opens full size
    assert "the creator selected the output of step #2, among 1 output(s) of the AI" in text
    assert '<li class="chosen"><a href="/app/records/' in text
    assert "Download evidence bundle" in text and f"/app/bundle/chatgpt/{chain.session_id}" in text
    for evil in (EVIL_SCRIPT, EVIL_IMG, EVIL_ATTR):
        assert evil not in text
    assert html.escape(EVIL_SCRIPT) in text and html.escape(EVIL_IMG) in text
    assert "<script>" not in text.replace('<script src="/static/app.js" defer></script>', "")


def test_long_timelines_page_and_diff_across_the_page_boundary(browser: FlaskClient, api: Api) -> None:
    import time

    chain = Chain(site="chatgpt", session_id="long-session")
    records = []
    for i in range(1, 1201):
        if i % 2:
            records.append(chain.next(text=f"prompt {i} about a lighthouse", params={"step": i // 50}))
        else:
            records.append(chain.next("output", actor="ai", text=f"answer {i}"))
    post_all(api, records)
    started = time.perf_counter()
    first = browser.get("/app/sessions/chatgpt/long-session")
    cold = time.perf_counter() - started
    assert first.status_code == 200 and "page 1 of 12" in first.text
    assert first.text.count('<li class="step') == 100
    started = time.perf_counter()
    page2 = browser.get("/app/sessions/chatgpt/long-session?page=2")
    warm = time.perf_counter() - started
    assert "steps 101–200 of 1200" in page2.text and ">#101<" in page2.text
    # step 101 is a prompt: its diff is against prompt 99, which is on page 1
    assert "prompt <del>99</del><ins>101</ins> about a lighthouse" in page2.text
    assert "<tr><th>prompts written</th><td>600</td></tr>" in page2.text  # the summary covers the whole session
    assert cold < 10 and warm < 2, (cold, warm)


def test_timeline_of_unknown_or_malformed_sessions_is_a_404_page(browser: FlaskClient) -> None:
    for path in ("/app/sessions/chatgpt/nope", "/app/sessions/NOT A SITE/x", "/app/records/nope",
                 "/app/blobs/sha256:" + "0" * 64):
        answer = browser.get(path)
        assert answer.status_code in (400, 404), path
        assert answer.mimetype == "text/html"


# -- record page, images, bundle ----------------------------------------------------------------------

def test_record_page_decodes_tokens_and_checks_receipt_and_proof(browser: FlaskClient, api: Api) -> None:
    chain, _ = image_session(api)
    view = api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"][1]
    page = browser.get(f"/app/records/{view['record']['id']}")
    text = page.text
    assert page.status_code == 200
    assert "The signature verifies with service key" in text
    assert "proof node(s) from this record&#39;s leaf leads to the batch root" in text
    assert "Verifies over the batch root, chaining to" in text and "development TSA" in text
    for field in ("genTime", "Serial", "Policy", "Accuracy", "Message imprint", "Signer", "Chain stored"):
        assert field in text
    assert "<h2>Archive time-stamps</h2>" in text and "None yet" in text  # renewals: tests/integration/test_renewals
    receipt = view["receipt"]
    for digest in (receipt["record"], receipt["batch"]["root"]):
        assert f'data-copy="{digest}"' in text
    assert "&lt;script&gt;window.__pwned" in text and EVIL_SCRIPT not in text
    token_link = re.search(r'href="(/app/batches/[^"]+\.tst)"', text)
    assert token_link
    tst = browser.get(token_link.group(1))
    assert tst.status_code == 200 and tst.data[:1] == b"\x30"


def test_images_are_served_only_as_checked_raster_never_as_markup(browser: FlaskClient, api: Api) -> None:
    image = png(3, 3)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    for data, media in ((image, "image/png"), (svg, "image/svg+xml")):
        api.put("/v1/blobs/" + attachment(data)["digest"], data, media)
    shown = browser.get("/app/blobs/" + attachment(image)["digest"])
    assert shown.mimetype == "image/png" and shown.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    hostile = browser.get("/app/blobs/" + attachment(svg)["digest"])
    assert hostile.mimetype == "application/octet-stream"
    assert hostile.headers["Content-Disposition"].startswith("attachment")


def test_bundle_downloads_from_the_timeline_and_verifies(browser: FlaskClient, api: Api, services: Services) -> None:
    chain, _ = image_session(api)
    got = browser.get(f"/app/bundle/chatgpt/{chain.session_id}")
    assert got.status_code == 200 and got.mimetype == "application/vnd.etsi.asic-e+zip"
    data = got.get_data()
    got.close()
    assert "report.html" in zipfile.ZipFile(BytesIO(data)).namelist()
    assert verify_input(data, Trust.build()).exit_code == 2  # intact, resting on anchors not given


def test_without_a_cjk_font_the_bundle_is_whole_but_has_no_pdf(browser: FlaskClient, api: Api,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from promptstamp.report import pdf

    # A machine without Debian's fonts-noto-cjk: no candidate font file exists.
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ((Path("/nonexistent/NotoSansCJK.ttc"), 0),))
    chain, _ = image_session(api)
    got = browser.get(f"/app/bundle/chatgpt/{chain.session_id}")
    assert got.status_code == 200
    data = got.get_data()
    got.close()
    names = zipfile.ZipFile(BytesIO(data)).namelist()
    assert "report.html" in names and "report.zh.html" in names and "report.pdf" not in names
    assert verify_input(data, Trust.build()).exit_code == 2  # intact, resting on anchors not given


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Referer": "https://attacker.example/page"}])
def test_a_bundle_build_is_never_started_by_another_site(browser: FlaskClient, api: Api,
                                                         headers: dict[str, str]) -> None:
    chain, _ = image_session(api)
    got = browser.get(f"/app/bundle/chatgpt/{chain.session_id}", headers=headers)
    assert got.status_code == 403
    assert "started from another site" in got.get_data(as_text=True)
    for fine in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {"Referer": "http://localhost/app/"}):
        ok = browser.get(f"/app/bundle/chatgpt/{chain.session_id}", headers=fine)
        assert ok.status_code == 200, fine
        ok.close()


# -- every page ---------------------------------------------------------------------------------------

def test_every_page_carries_a_strict_csp_and_security_headers(app: Flask, browser: FlaskClient, api: Api) -> None:
    chain, _ = image_session(api)
    record_id = api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"][0]["record"]["id"]
    anonymous = app.test_client()
    paths = [*PAGES, "/app/", f"/app/sessions/chatgpt/{chain.session_id}", f"/app/records/{record_id}"]
    for path in paths:
        answer = (anonymous if path in PAGES else browser).get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        # nothing the policy would block: no inline script, no inline style, no event handlers of ours
        html = answer.text
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], path
        assert " style=" not in html and "<style" not in html, path
        if path.startswith("/app/"):
            assert answer.headers["Cache-Control"] == "no-store"


def test_api_answers_keep_their_json_errors(api: Api) -> None:
    answer = api.client.get("/v1/sessions/chatgpt/nope", headers=api.headers())
    assert answer.status_code == 404 and answer.is_json
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_steps_without_a_time_stamp_are_shown_as_pending_never_as_stamped(tmp_path: Path) -> None:
    from promptstamp.config import TsaConfig

    dead = TsaConfig(name="down", url="http://127.0.0.1:9/", timeout=1)  # discard port: nothing answers
    svc = make_services(tmp_path / "pending", tsas=(dead,))
    try:
        app = create_app(services=svc)
        account, token = svc.accounts.create("patient")
        api = Api(app.test_client(), token, account.id)
        chain = Chain(site="chatgpt", session_id="waiting")
        answer = api.post("/v1/records", [chain.next(text="a lighthouse at dusk")])
        assert answer.status_code == 202
        client = app.test_client()
        sign_in(client, token)
        assert "1 pending" in client.get("/app/").text
        timeline = client.get("/app/sessions/chatgpt/waiting").text
        assert "1 not yet time-stamped" in timeline and "not yet: the batch is pending" in timeline
        assert 'class="step kind-prompt pending"' in timeline
        record_id = answer.get_json()["results"][0]["record_id"]
        record = client.get(f"/app/records/{record_id}").text
        assert "No time-stamp yet" in record and "time-stamped</span>" not in record
    finally:
        svc.close()


# -- capture gaps and fuller sightings ------------------------------------------------------------------

def test_capture_gaps_show_in_red_per_site_and_superseded_records_are_marked(browser: FlaskClient, api: Api) -> None:
    chat = Chain(site="chatgpt", session_id="conv-gappy")
    prompt = chat.next(text="a harbour at dawn", refs={"message_id": "m1"})
    partial = chat.next("output", actor="ai", text="A harb", refs={"message_id": "a1"})
    fuller = chat.next("output", actor="ai", text="A harbour, gouache, pale light",
                       refs={"message_id": "a1", "supersedes": partial["id"]})
    gap = chat.next("drift", text="Capture gap (no-answer): prompt m2 has no recorded answer",
                    params={"code": "no-answer", "adapter": "chatgpt@2"}, refs={"message_id": "m2"})
    other = Chain(site="claude", session_id="conv-gap-2")
    post_all(api, [prompt, partial, fuller, gap,
                   other.next("drift", text="gap", params={"code": "no-parse", "adapter": "claude@2"}),
                   other.next("drift", text="gap 2", params={"code": "page-ahead", "adapter": "claude@2"})])

    listing = browser.get("/app/").text
    table = listing[listing.index('data-testid="drift-by-site"'):listing.index("</section>")]
    rows = re.findall(r'<tr class="drift"><td>(\w+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', table)
    assert rows == [("claude", "2", "1"), ("chatgpt", "1", "1")]
    assert '<span class="badge bad">2 capture gaps</span>' in listing

    timeline = browser.get("/app/sessions/chatgpt/conv-gappy").text
    assert f'<li class="step kind-drift" id="r-{gap["id"]}">' in timeline
    assert "Evidenced gap" in timeline and "(no-answer)" in timeline
    assert f'<li class="step kind-output superseded" id="r-{partial["id"]}">' in timeline
    assert "Superseded by step <a href=\"/app/records/" in timeline
    assert f"Supersedes record <code>{partial['id']}</code>" in timeline


def test_pending_steps_say_which_tsa_failed_and_when_it_is_asked_again(tmp_path: Path) -> None:
    from promptstamp.config import TsaConfig
    from promptstamp.tsa_health import process_tsa_health

    down = TsaConfig(name="down", url="http://127.0.0.1:9/", timeout=2)
    services = make_services(tmp_path, tsas=(down,), retry_interval_s=30)
    try:
        app = create_app(services=services)
        _, token = services.accounts.create("alice")
        chain = Chain()
        api = app.test_client()
        answer = api.post("/v1/records", json=[chain.next(text="a cat"), chain.next(text="a dog")],
                          headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 202
        client = app.test_client()
        sign_in(client, token)
        page = client.get(f"/app/sessions/chatgpt/{chain.session_id}").get_data(as_text=True)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(page)))
        assert "2 steps are signed and stored but not yet time-stamped" in text
        assert "TSA down has not answered since" in text and "Next attempt about" in text
        assert "cannot connect to http://127.0.0.1:9/" in text
        assert (process_tsa_health().statuses()["down"].last_error or "").startswith("TSA down: cannot connect")
        assert "The bundle cannot be made right now" in text
        assert f'href="/app/bundle/chatgpt/{chain.session_id}"' not in page
    finally:
        services.close()


def test_the_owner_states_their_name_and_a_broken_chain_shows_in_red(api: Api) -> None:
    client = api.client
    sign_in(client, api.token)
    page = client.get("/app/account")
    assert page.status_code == 200 and "not yet: it is stated with your first upload" in page.text
    bad = client.post("/app/account", data={"display_name": "", "csrf": csrf_of(page.text)})
    assert bad.status_code == 400
    done = client.post("/app/account", data={"display_name": "Ada <b>Lovelace</b>", "contact": "ada@example.org",
                                             "csrf": csrf_of(page.text)})
    assert done.status_code == 302
    page = client.get("/app/account")
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in page.text and "ada@example.org" in page.text
    assert api.get("/v1/account").get_json()["display_name"] == "Ada <b>Lovelace</b>"

    chain = Chain()
    first = chain.next(text="one")
    chain.next(text="two (never sent)")
    post_all(api, [first, chain.next(text="three")])
    timeline = client.get(f"/app/sessions/chatgpt/{chain.session_id}")
    assert 'data-testid="chain-broken"' in timeline.text
    assert "gap, seq 2 missing before it" in timeline.text
