"""Verifying uploads is bounded: ZIP bombs and token bombs get a clear answer naming the limit, and each
distinct token is verified once. The dev TSA's tokens are untrusted wherever they come from."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from bombs import token_bomb, zip_bomb
from bundle_sample import OpensslTsa, SampleSession, sample_session, timestamp_query
from promptstamp import bundle, tokens
from promptstamp.config import TsaConfig
from promptstamp.devtsa import DevTsa
from promptstamp.errors import LimitExceeded, TooLarge
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle, check_token
from promptstamp.verify_limits import UploadLimits, declared_entries, precheck
from promptstamp.verify_process import ELSEWHERE, VerifyJob, VerifyProcesses
from promptstamp.web import errors, evidence, keys


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="limits-tsa")


@pytest.fixture(scope="module")
def session(tsa: OpensslTsa) -> SampleSession:
    return sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=6)


def _bundle(session: SampleSession, tsa: OpensslTsa) -> bytes:
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    return out.getvalue()


@pytest.fixture(scope="module")
def zipbomb() -> bytes:
    return zip_bomb(1 << 30)


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return str(path)


def test_zip_bomb_is_refused_from_its_declared_sizes_naming_the_limit(zipbomb: bytes, tmp_path: Path) -> None:
    assert len(zipbomb) < 1_200_000
    with pytest.raises(TooLarge, match=r"expands to 10737418\d\d bytes: the limit is 268435456 bytes expanded"):
        VerifyProcesses().run(VerifyJob(_write(tmp_path, zipbomb), Trust.build()))


def test_entry_count_is_read_from_the_end_record_before_any_index_is_parsed(session: SampleSession,
                                                                            tsa: OpensslTsa) -> None:
    data = _bundle(session, tsa)
    count = declared_entries(io.BytesIO(data))
    assert count == len(bundle_names(data))
    with pytest.raises(TooLarge, match=f"the bundle has {count} entries: the limit is 5 entries per bundle"):
        precheck(io.BytesIO(data), UploadLimits(entries=5))


def bundle_names(data: bytes) -> list[str]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()


def test_token_bomb_verifies_each_distinct_token_once(session: SampleSession, tsa: OpensslTsa,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = token_bomb(_bundle(session, tsa), copies=300)
    calls: list[int] = []
    real = tokens.verify_token

    def counting(*args: Any, **kwargs: Any) -> tokens.TokenVerdict:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tokens, "verify_token", counting)
    report = check_bundle(bomb, Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.id]))
    assert report.exit_code == 1  # the copies are not listed in SHA256SUMS and hold no record
    batches = {c.subject for c in report.checks if c.name == "time-stamp over the batch root"}
    # every copy has its own row (the sample has two batches and one of its account and pairing records)...
    assert len(batches) == 300 + 3
    assert len(calls) == 3 + 2  # ...but only the distinct tokens (three batches, manifest, sums) were verified


def test_token_bomb_past_the_token_limit_is_a_422_naming_it(session: SampleSession, tsa: OpensslTsa,
                                                             tmp_path: Path) -> None:
    bomb = token_bomb(_bundle(session, tsa), copies=120)
    runner = VerifyProcesses(UploadLimits(tokens=100))
    with pytest.raises(LimitExceeded, match=r"time-stamp tokens: the limit is 100 tokens per bundle"):
        runner.run(VerifyJob(_write(tmp_path, bomb), Trust.build()))
    with pytest.raises(LimitExceeded, match=r"the bundle has 123 batches: the limit is 50 batches per bundle"):
        VerifyProcesses(UploadLimits(batches=50)).run(VerifyJob(_write(tmp_path, bomb), Trust.build()))


def test_the_verifying_process_answers_with_the_report(session: SampleSession, tsa: OpensslTsa,
                                                        tmp_path: Path) -> None:
    path = _write(tmp_path, _bundle(session, tsa))
    trust = Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.id])
    body = VerifyProcesses().run(VerifyJob(path, trust))
    assert (body["exit_code"], body["valid"], body["trusted"]) == (0, True, True)


def test_http_answers_name_the_limit(session: SampleSession, tsa: OpensslTsa, zipbomb: bytes) -> None:
    app = Flask(__name__)
    app.extensions["promptstamp"] = SimpleNamespace(
        verifier=VerifyProcesses(UploadLimits(tokens=100)),
        accounts=SimpleNamespace(authenticate=lambda token: "acct" if token == "t" else _deny()))
    app.register_blueprint(evidence.bp)
    errors.register(app)
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    big = _post(client, zipbomb, auth)
    assert big.status_code == 413 and big.get_json()["error"] == "too_large"
    assert "limit is 268435456 bytes expanded" in big.get_json()["detail"]
    assert big.get_json()["detail"].endswith(ELSEWHERE)  # and where such evidence verifies instead
    many = _post(client, token_bomb(_bundle(session, tsa), 120), auth)
    assert many.status_code == 422 and many.get_json()["error"] == "limit_exceeded"
    assert "the limit is 100 tokens per bundle" in many.get_json()["detail"]


def _post(client: FlaskClient, upload: bytes, headers: dict[str, str]) -> TestResponse:
    # Encoded here: the test client spools big multipart bodies to a temporary file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(upload), "bundle.asice")})
    return client.post("/v1/verify", data=body, headers=headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _deny() -> str:
    from promptstamp.errors import Unauthorized

    raise Unauthorized("expected a valid API token")


# --- the development TSA is untrusted wherever its tokens come from ----------------------------------

@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevTsa:
    return DevTsa.load_or_create(tmp_path_factory.mktemp("devtsa"))


def _dev_stamp(dev: DevTsa) -> Any:
    def stamp(digest: bytes) -> dict[str, bytes]:
        nonce = secrets.randbits(62) | 1 << 62
        return {"devtsa": tokens.token_from_response(dev.respond(timestamp_query(digest, nonce)))}
    return stamp


def test_dev_tsa_bundle_is_untrusted_even_when_its_root_is_given(dev: DevTsa) -> None:
    session = sample_session(_dev_stamp(dev), chains={"devtsa": dev.chain_pem}, n_records=3)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=_dev_stamp(dev))
    report = check_bundle(out.getvalue(), Trust.build([dev.root_der], [session.key.id]))
    assert report.exit_code == 2
    assert not any(c.outcome == "fail" for c in report.checks)
    assert any("development TSA" in r for r in report.rests_on)
    assert any(c.outcome == "untrusted" and tokens.DEV_TSA_POLICY in c.detail for c in report.checks)


def test_bare_dev_token_is_untrusted_even_when_its_root_is_given(dev: DevTsa) -> None:
    digest = bytes(32)
    token = _dev_stamp(dev)(digest)["devtsa"]
    report = check_token(token, Trust.build([dev.root_der]), digest=digest)
    assert report.exit_code == 2
    chain = next(c for c in report.checks if c.name == "chain")
    assert chain.outcome == "untrusted" and tokens.DEV_TSA_POLICY in chain.detail


def test_dev_tsa_root_is_never_offered_for_pinning(dev: DevTsa, tsa: OpensslTsa) -> None:
    assert dev.ca_file is not None
    assert tokens.is_development_certificate(dev.root_der)
    assert not tokens.is_development_certificate(tokens.load_pem_certificates(tsa.root_pem)[0])
    configured_like_a_real_one = TsaConfig("dev", "http://127.0.0.1:9/", ca_file=dev.ca_file)
    real_file = Path(dev.ca_file).parent / "real-root.pem"
    real_file.write_text(tsa.root_pem)
    real = TsaConfig("real", "http://127.0.0.1:9/", ca_file=real_file)
    app = Flask(__name__)
    app.extensions["promptstamp"] = SimpleNamespace(settings=SimpleNamespace(tsas=(configured_like_a_real_one, real)),
                                                    keyring=SimpleNamespace(entries=lambda: []))
    app.register_blueprint(keys.bp)
    listed = {t["name"]: t for t in app.test_client().get("/v1/keys").get_json()["tsas"]}
    assert listed["dev"]["untrusted"] is True and listed["dev"]["roots"] is None
    assert listed["real"]["untrusted"] is False and "BEGIN CERTIFICATE" in listed["real"]["roots"]
