"""Fixtures for tests that run the whole service in-process (Flask test client, fs store, dev TSA)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from promptstamp.config import Settings
from promptstamp.services import Services, build_services
from promptstamp.web import create_app


@dataclass
class Api:
    """A test client bound to one account's token."""

    client: FlaskClient
    token: str
    account: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def post(self, path: str, body: Any = None, *, data: bytes | None = None, **kw: Any) -> Any:
        if data is not None:
            return self.client.post(path, data=data, headers=self.headers(), content_type="application/json", **kw)
        return self.client.post(path, json=body, headers=self.headers(), **kw)

    def put(self, path: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
        return self.client.put(path, data=data, headers=self.headers(), content_type=content_type)

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers())


def make_services(data_dir: Path, **settings: Any) -> Services:
    defaults: dict[str, Any] = {"data_dir": data_dir, "batch_window_ms": 20, "retry_interval_s": 3600,
                                "recovery_grace_s": 0}
    return build_services(Settings(**{**defaults, **settings}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = make_services(tmp_path)
    yield svc
    svc.close()


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services=services)


@pytest.fixture
def api(app: Flask, services: Services) -> Api:
    account, token = services.accounts.create("alice")
    return Api(app.test_client(), token, account.id)


@pytest.fixture
def other_api(app: Flask, services: Services) -> Api:
    account, token = services.accounts.create("mallory")
    return Api(app.test_client(), token, account.id)
