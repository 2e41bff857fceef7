"""``GET /v1/account``: a token tells whose it is, and nothing about any other account."""

from __future__ import annotations

from conftest import Api
from promptstamp.services import Services


def test_account_names_the_tokens_owner(api: Api, other_api: Api) -> None:
    mine = api.get("/v1/account")
    assert mine.status_code == 200
    body = mine.get_json()
    assert body["id"] == api.account and body["name"] == "alice"
    assert body["created_at"].endswith("Z")
    assert other_api.get("/v1/account").get_json()["name"] == "mallory"


def test_account_needs_a_live_token(api: Api, services: Services) -> None:
    assert api.client.get("/v1/account").status_code == 401
    r = api.client.get("/v1/account", headers={"Authorization": "Bearer ps_" + "A" * 43})
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    services.accounts.revoke_token(api.account, api.token)
    assert api.get("/v1/account").status_code == 401


def test_account_is_in_the_published_api_description(api: Api) -> None:
    spec = api.client.get("/v1/openapi.json").get_json()
    assert set(spec["paths"]["/v1/account"]["get"]["responses"]) >= {"200", "401"}
