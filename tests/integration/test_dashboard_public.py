"""The public pages: verify a bundle or a bare token in the browser's form, and the keys page."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from test_dashboard import csrf_of, image_session, sign_in

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


def _verify(client: FlaskClient, token: str | None, **fields: Any) -> Any:
    if token is not None:
        sign_in(client, token)
    page = client.get("/verify")
    return client.post("/verify", data={"csrf": csrf_of(page.text), **fields}, content_type="multipart/form-data")


def _root_pem(services: Services) -> bytes:
    ca_file = services.settings.tsas[0].ca_file
    assert ca_file is not None
    return ca_file.read_bytes()


def test_verify_page_checks_a_bundle_against_the_anchors_given(app: Flask, api: Api, services: Services) -> None:
    bundle = _bundle(app, api)
    client = app.test_client()
    key_pem = services.keyring.signing_key.public.pem.encode()
    answer = _verify(client, api.token, file=(io.BytesIO(bundle), "evidence.asice"),
                     tsa_root=(io.BytesIO(_root_pem(services)), "root.pem"),
                     trust_key=(io.BytesIO(key_pem), "key.pem"))
    assert answer.status_code == 200
    text = answer.text
    # The built-in TSA's tokens carry its policy: untrusted even with its root given.
    assert "VALID BUT NOT TRUSTED" in text and "development TSA" in text
    assert "Checks, in the order they ran" in text and "(given by you)" in text
    assert "fails</span>" not in text
    href = re.search(r'href="(data:application/json;base64,[^"]+)" download="evidence.verification.json"', text)
    assert href
    report = json.loads(base64.b64decode(href.group(1).split(",", 1)[1]))
    assert report["exit_code"] == 2 and report["checks"][0]["step"] == "container"


def test_verifying_on_the_server_needs_an_account(app: Flask, api: Api) -> None:
    answer = _verify(app.test_client(), None, file=(io.BytesIO(_bundle(app, api)), "evidence.asice"))
    assert answer.status_code == 401 and "sign in" in answer.text


def test_verify_page_says_when_nothing_is_trusted_and_when_something_fails(
        app: Flask, api: Api, services: Services) -> None:
    bundle = _bundle(app, api)
    client = app.test_client()
    untrusted = _verify(client, api.token, file=(io.BytesIO(bundle), "evidence.asice"))
    assert "VALID BUT NOT TRUSTED" in untrusted.text and "not trusted</span>" in untrusted.text

    # a key id pasted as text is an anchor too
    keyed = _verify(client, None, file=(io.BytesIO(bundle), "evidence.asice"),
                    trust_key_text=services.keyring.signing_key.id + "\n",
                    tsa_root=(io.BytesIO(_root_pem(services)), "root.pem"))
    assert "VALID BUT NOT TRUSTED" in keyed.text and "(given by you)" in keyed.text

    # change one image inside the bundle: the page names what broke
    src = zipfile.ZipFile(io.BytesIO(bundle))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("blobs/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(info, data)
    tampered = _verify(client, None, file=(io.BytesIO(out.getvalue()), "tampered.asice"))
    assert "INVALID" in tampered.text and "fails</span>" in tampered.text
    assert 'class="fail"' in tampered.text


def test_verify_page_checks_a_bare_token_with_its_digest(app: Flask, api: Api, services: Services) -> None:
    chain, _ = image_session(api)
    view = api.get(f"/v1/sessions/chatgpt/{chain.session_id}").get_json()["records"][0]
    batch = api.get(f"/v1/batches/{view['batch']}").get_json()
    token = base64.b64decode(batch["tokens"][0]["token"])
    client = app.test_client()
    answer = _verify(client, api.token, file=(io.BytesIO(token), "batch.tst"), digest=batch["root"][7:],
                     tsa_root=(io.BytesIO(_root_pem(services)), "root.pem"))
    assert "VALID BUT NOT TRUSTED" in answer.text and "genTime" in answer.text
    assert tokens.DEV_TSA_POLICY in answer.text
    wrong = _verify(client, None, file=(io.BytesIO(token), "batch.tst"), digest="00" * 32)
    assert "INVALID" in wrong.text


def test_verify_page_explains_bad_input_in_the_page(app: Flask, api: Api) -> None:
    client = app.test_client()
    empty = _verify(client, api.token, file=(io.BytesIO(b""), ""))
    assert empty.status_code == 400 and "Choose the evidence" in empty.text
    bare = _verify(client, None, file=(io.BytesIO(b"\x30\x03\x02\x01\x00"), "x.tst"))
    assert bare.status_code == 400 and "needs exactly one of" in bare.text
    assert bare.mimetype == "text/html"


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
