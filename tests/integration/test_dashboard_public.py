"""The public pages: verify a bundle or a bare token in the browser's form, and the keys page."""

from __future__ import annotations

import base64
import hashlib
import io
import re

from flask import Flask
from test_dashboard import image_session, sign_in

from conftest import Api
from promptstamp import tokens
from promptstamp.services import Services


def _bundle(app: Flask, api: Api) -> bytes:
    chain, _ = image_session(api)
    client = app.test_client()
    sign_in(client, api.token)
    got = client.get(f"/app/bundle/chatgpt/{chain.session_id}")
    data = got.get_data()
    got.close()
    return data


def _root_pem(services: Services) -> bytes:
    ca_file = services.settings.tsas[0].ca_file
    assert ca_file is not None
    return ca_file.read_bytes()


def test_verify_page_verifies_in_the_browser_and_takes_no_upload(app: Flask) -> None:
    client = app.test_client()  # anyone: no account needed
    page = client.get("/verify")
    assert page.status_code == 200
    assert '<div id="verifier"></div>' in page.text
    assert re.search(r'<script src="/static/verify\.js[^"]*" defer></script>', page.text)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "never uploaded" in page.text
    # The service no longer judges evidence for anonymous visitors: there is nothing to post to.
    assert client.post("/verify", data={"file": (io.BytesIO(b"PK"), "x.asice")}).status_code == 405
    script = client.get("/static/verify.js")
    assert script.status_code == 200 and script.mimetype in ("text/javascript", "application/javascript")
    script.close()


def test_standalone_verifier_is_one_offline_file_with_its_own_policy(app: Flask) -> None:
    got = app.test_client().get("/verify.html")
    assert got.status_code == 200 and got.mimetype == "text/html"
    assert got.headers["Content-Disposition"] == 'attachment; filename="verify.html"'
    csp = got.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "connect-src" not in csp
    html = got.get_data(as_text=True)
    assert f'<meta http-equiv="Content-Security-Policy" content="{csp}">' in html
    script = re.search(r"<script>(.*)</script>", html, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp  # the inline script is exactly the one the policy allows
    assert "<script src" not in html and "<link" not in html  # nothing loaded from anywhere


def test_keys_page_publishes_keys_tsas_roots_and_how_to_pin(app: Flask, api: Api, services: Services) -> None:
    client = app.test_client()
    page = client.get("/keys")
    assert page.status_code == 200
    entry = services.keyring.entries()[0]
    text = page.text
    assert entry.key.id in text and str(entry.to_json()["fingerprint"]) in text and "current" in text
    assert "devtsa" in text and "development TSA" in text
    root_der = tokens.load_pem_certificates(_root_pem(services))[0]
    assert hashlib.sha256(root_der).hexdigest() not in text  # the dev TSA's root is never offered for pinning
    assert "--trust-key" in text and "--tsa-root" in text
    pem = client.get(f"/keys/{entry.key.id}.pem")
    assert pem.status_code == 200 and pem.text == entry.key.pem
    assert client.get("/keys/tsa/devtsa.pem").status_code == 404
    assert client.get("/keys/0000000000000000.pem").status_code == 404
