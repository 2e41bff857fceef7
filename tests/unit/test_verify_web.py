"""The evidence blueprint: POST /v1/verify for account holders (same engine as the CLI) and the bundle download."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from bundle_sample import OpensslTsa, SampleSession, bundle_entries, rebuild_bundle, sample_session
from promptstamp.bundle import SessionEvidence
from promptstamp.errors import Unauthorized
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle
from promptstamp.verify_process import VerifyProcesses
from promptstamp.web import errors, evidence

AUTH = {"Authorization": "Bearer secret"}
REAL = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"


class _Ledger:
    def __init__(self, session: SampleSession, tsa: OpensslTsa) -> None:
        self.session, self.tsa = session, tsa

    def session_evidence(self, account: str, site: str, session_id: str) -> SessionEvidence:
        return self.session.evidence

    def stamp_digest(self, digest: bytes) -> Mapping[str, bytes]:
        return self.tsa.stamp(digest)

    def session_record_ids(self, account: str, site: str, session_id: str) -> list[str]:
        return [r.id for r in self.session.records]


def _authenticate(token: str | None) -> str:
    if token != "secret":
        raise Unauthorized("expected a valid API token")
    return "acct-sample"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="web-tsa")


@pytest.fixture(scope="module")
def session(tsa: OpensslTsa) -> SampleSession:
    return sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=4)


@pytest.fixture()
def app(session: SampleSession, tsa: OpensslTsa) -> Flask:
    app = Flask(__name__)
    # The sample session carries its account record already: stating it again is not this test's subject.
    app.extensions["promptstamp"] = SimpleNamespace(ledger=_Ledger(session, tsa), verifier=VerifyProcesses(),
                                                    accounts=SimpleNamespace(authenticate=_authenticate),
                                                    keyring=SimpleNamespace(signing_key=session.key),
                                                    authorship=SimpleNamespace(ensure_account_record=lambda a: None))
    app.register_blueprint(evidence.bp)
    errors.register(app)
    return app


def test_bundle_download_needs_an_account(app: Flask) -> None:
    assert app.test_client().get("/v1/sessions/chatgpt/sample-session-1/bundle").status_code == 401


def test_bundle_download_then_verify_upload(app: Flask, session: SampleSession, tsa: OpensslTsa) -> None:
    client = app.test_client()
    got = client.get("/v1/sessions/chatgpt/sample-session-1/bundle", headers={"Authorization": "Bearer secret"})
    assert got.status_code == 200
    assert got.mimetype == "application/vnd.etsi.asic-e+zip"
    assert "evidence-chatgpt-sample-session-1-" in got.headers["Content-Disposition"]
    data = got.get_data()
    got.close()
    assert check_bundle(data, Trust.build()).exit_code == 2  # intact; nothing trusted
    answer = client.post("/v1/verify", data={
        "file": (io.BytesIO(data), "evidence.asice"),
        "tsa_root": (io.BytesIO(tsa.root_pem.encode()), "root.pem"),
        "trust_key": session.key.id,
    }, content_type="multipart/form-data", headers=AUTH)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["exit_code"], body["valid"], body["trusted"]) == (0, True, True)
    entries = bundle_entries(data)
    tampered = rebuild_bundle({**entries, "README.txt": entries["README.txt"] + b" "})
    bad = client.post("/v1/verify", data={"file": (io.BytesIO(tampered), "e.asice")},
                      content_type="multipart/form-data", headers=AUTH).get_json()
    assert bad["exit_code"] == 1 and not bad["valid"]


def test_verify_upload_of_a_bare_token(app: Flask) -> None:
    folder = REAL / "globalsign-g4-2021"
    answer = app.test_client().post("/v1/verify", data={
        "file": (io.BytesIO((folder / "token.tst").read_bytes()), "token.tst"),
        "data": (io.BytesIO((folder / "data.txt").read_bytes()), "data.txt"),
        "tsa_root": (io.BytesIO((folder / "root-GlobalSign_Root_CA_-_R3.pem").read_bytes()), "root.pem"),
    }, content_type="multipart/form-data", headers=AUTH).get_json()
    assert answer["kind"] == "token" and answer["exit_code"] == 0
    assert answer["facts"]["genTime"] == "2021-09-17T14:09:10Z"


def test_verify_upload_needs_an_api_token(app: Flask) -> None:
    answer = app.test_client().post("/v1/verify", data={"file": (io.BytesIO(b"PK\x05\x06" + bytes(18)), "e.asice")},
                                    content_type="multipart/form-data")
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"
