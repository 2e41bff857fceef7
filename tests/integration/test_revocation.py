"""Revoking and rotating API tokens, and signing out, take effect on the server: on every instance
(here: two services over one store, as two instances would be) within the stated time."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from test_dashboard import csrf_of, sign_in

from conftest import Api, make_services
from promptstamp.cli import main
from promptstamp.revocation import Revocations
from promptstamp.services import Services
from promptstamp.web import create_app


def test_a_revoked_token_is_refused_by_every_instance(tmp_path: Path) -> None:
    one = make_services(tmp_path)
    two = make_services(tmp_path)
    try:
        account, token = one.accounts.create("alice")
        first, second = create_app(services=one).test_client(), create_app(services=two).test_client()
        auth = {"Authorization": f"Bearer {token}"}
        assert first.get("/v1/sessions", headers=auth).status_code == 200
        assert second.get("/v1/sessions", headers=auth).status_code == 200  # now cached as not revoked
        two.accounts.revocations = Revocations(two.store, ttl_s=0)  # the stated time, elapsed
        one.accounts.revoke_token(account.id, token)
        for client in (first, second):
            refused = client.get("/v1/sessions", headers=auth)
            assert refused.status_code == 401
            assert "revoked" in refused.get_json()["detail"]
    finally:
        one.close()
        two.close()


def test_tokens_are_listed_revoked_by_id_and_rotated_from_the_command_line(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        account, first = services.accounts.create("alice")
        second = services.accounts.issue_token(account.id)
    finally:
        services.close()
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    listed = runner.invoke(main, ["accounts", "tokens", "list", *data, "--account", account.id])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 2 and all(line.endswith("active") for line in lines)
    from promptstamp.accounts import token_hash

    revoked = runner.invoke(main, ["accounts", "tokens", "revoke", *data, "--account", account.id,
                                   token_hash(first)[:12]])
    assert revoked.exit_code == 0, revoked.output
    assert "within 10 s" in revoked.output
    rotated = runner.invoke(main, ["accounts", "tokens", "rotate", *data, "--account", account.id])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith("ps_") and new not in (first, second)
    after = make_services(tmp_path)
    try:
        for old in (first, second):
            client = create_app(services=after).test_client()
            assert client.get("/v1/sessions", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert create_app(services=after).test_client().get(
            "/v1/sessions", headers={"Authorization": f"Bearer {new}"}).status_code == 200
        states = [t.revoked for t in after.accounts.tokens(account.id)]
        assert states == [True, True, False]
    finally:
        after.close()
    unknown = runner.invoke(main, ["accounts", "tokens", "revoke", *data, "--account", account.id, "ffffffffffff"])
    assert unknown.exit_code == 1 and "no token of account" in unknown.output


def test_sign_out_ends_the_sign_in_even_for_a_copied_cookie(app: Flask, api: Api, services: Services) -> None:
    browser = app.test_client()
    sign_in(browser, api.token)
    assert browser.get("/app/").status_code == 200
    copied = app.test_client()
    cookie = browser.get_cookie("promptstamp_session")
    assert cookie is not None
    copied.set_cookie("promptstamp_session", cookie.value)
    assert copied.get("/app/").status_code == 200
    page = browser.get("/app/").text
    browser.post("/app/signout", data={"csrf": csrf_of(page)})
    services.accounts.revocations = Revocations(services.store, ttl_s=0)
    answer = copied.get("/app/")
    assert answer.status_code == 302 and "/app/signin" in answer.headers["Location"]


def test_revoking_the_token_ends_dashboard_sign_ins_made_with_it(app: Flask, api: Api, services: Services) -> None:
    browser: FlaskClient = app.test_client()
    sign_in(browser, api.token)
    assert browser.get("/app/").status_code == 200
    services.accounts.revoke_token(api.account, api.token)
    answer = browser.get("/app/")
    assert answer.status_code == 302 and "/app/signin" in answer.headers["Location"]
