"""Revocation data for a TSA certificate from a real OCSP responder (``openssl ocsp`` serving an index):
fetched and checked, archived, and judged at a token's genTime without network: a certificate revoked
before genTime, or later for a key compromise, is rejected with its revocation time and reason."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_recovery import api_for

from conftest import make_services
from factories import Chain
from openssl_ocsp import OcspPki, make_pki, ocsp_responder, ocsp_tsa
from promptstamp import layout, revocation_fetch, tsa_revocation
from promptstamp.config import TsaConfig
from promptstamp.errors import InvalidInput, TimestampError
from promptstamp.ocsp import judge, read_response
from promptstamp.verdict import Check, Trust
from promptstamp.verify import check_bundle

REVOKED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_good_status_is_captured_and_judged_offline(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    chain = [pki.der("tsa"), pki.der("root")]
    with ocsp_responder(pki):
        captured = revocation_fetch.capture(chain, timeout=5)
    assert [c.url for c in captured] == [pki.url]
    stored = tsa_revocation.decode(tsa_revocation.encode("ocsp-tsa", captured), "stored")
    (status,) = tsa_revocation.statuses(stored)  # the responder is gone: the archived answer is enough
    assert status is not None and status.status == "good" and "CN=OCSP Test TSA" in status.subject
    assert judge(status, datetime.now(UTC)).valid


@pytest.mark.parametrize(("reason", "cryptography_name"),
                         [("keyCompromise", "key_compromise"), ("superseded", "superseded")])
def test_a_revoked_certificate_is_judged_with_its_time_and_reason(
        tmp_path: Path, reason: str, cryptography_name: str) -> None:
    pki = make_pki(tmp_path / "pki")
    pki.write_index(revoked_at=REVOKED_AT.strftime("%y%m%d%H%M%SZ"), reason=reason)
    with ocsp_responder(pki):
        (captured,) = revocation_fetch.capture([pki.der("tsa"), pki.der("root")], timeout=5)
    assert captured.response is not None
    status = read_response(captured.response, pki.der("tsa"), pki.der("root"))
    assert (status.status, status.revocation_time, status.reason) == ("revoked", REVOKED_AT, cryptography_name)
    before = judge(status, datetime(2026, 2, 1, tzinfo=UTC))
    after = judge(status, datetime(2026, 4, 1, tzinfo=UTC))
    assert not after.valid and "2026-03-01T12:00:00+00:00" in after.detail and cryptography_name in after.detail
    # Revoked later: a token stamped before stands, unless the key was compromised.
    assert before.valid == (reason == "superseded")
    assert cryptography_name in before.detail


def test_an_answer_about_another_certificate_or_issuer_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with ocsp_responder(pki):
        (captured,) = revocation_fetch.capture([pki.der("tsa"), pki.der("root")], timeout=5)
    assert captured.response is not None
    with pytest.raises(InvalidInput, match="does not answer for serial"):
        read_response(captured.response, pki.der("responder"), pki.der("root"))
    other = make_pki(tmp_path / "other")
    with pytest.raises(InvalidInput, match="does not answer for serial|signed neither"):
        read_response(captured.response, pki.der("tsa"), other.der("root"))
    with pytest.raises(InvalidInput, match="not an OCSP response"):
        read_response(b"\x30\x03\x02\x01\x00", pki.der("tsa"), pki.der("root"))


def test_an_unreachable_responder_is_an_error_to_retry(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")  # no responder running
    with pytest.raises(TimestampError, match="cannot connect"):
        revocation_fetch.capture([pki.der("tsa"), pki.der("root")], timeout=2)


def stamped_bundle(tmp_path: Path, pki: OcspPki, tsa_url: str) -> bytes:
    """A record sealed through the OCSP PKI's TSA, its revocation data archived, exported as a bundle."""
    config = TsaConfig(name="ocsp-tsa", url=tsa_url, ca_file=pki.directory / "root.pem", timeout=5)
    services = make_services(tmp_path / "data", tsas=(config,))
    try:
        api, chain = api_for(services), Chain()
        r = api.post("/v1/records", chain.next(text="stamped by a TSA with an OCSP responder"))
        assert r.status_code == 201, r.get_json()
        batch_id = r.get_json()["receipt"]["batch"]["id"]
        sealer = services.ledger.sealer
        deadline = time.monotonic() + 30  # fetched in the background right after stamping
        while not services.store.exists(layout.revocation(batch_id, "ocsp-tsa")):
            assert time.monotonic() < deadline, "revocation data never stored"
            sealer.retry_pending()
            time.sleep(0.1)
        r = api.get(f"/v1/sessions/{chain.site}/{chain.session_id}/bundle?lang=en")
        try:
            data: bytes = r.data
        finally:
            r.close()
        return data
    finally:
        services.close()


def token_check(bundle: bytes, pki: OcspPki) -> Check:
    report = check_bundle(bundle, Trust.build([pki.der("root")], []))
    # The session's records were stamped first; the account record written when the bundle is built
    # is stamped in a later batch (batch ids sort by time), whose revocation data may still be on its way.
    checks = sorted((c for c in report.checks if c.subject.endswith("/ocsp-tsa.tst")), key=lambda c: c.subject)
    return checks[0]


def test_a_bundle_carries_the_revocation_data_and_verifies_offline(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with ocsp_responder(pki), ocsp_tsa(pki) as url:
        bundle = stamped_bundle(tmp_path, pki, url)
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        assert [n for n in z.namelist() if n.endswith(".ocsp.json")]
    check = token_check(bundle, pki)  # every responder is gone now
    assert check.outcome == "ok", check.detail
    assert "revocation at genTime" in check.detail and "not revoked" in check.detail


def test_a_bundle_whose_tsa_certificate_is_revoked_is_rejected_with_the_reason(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    pki.write_index(revoked_at="260101000000Z", reason="keyCompromise")
    with ocsp_responder(pki), ocsp_tsa(pki) as url:
        bundle = stamped_bundle(tmp_path, pki, url)
    check = token_check(bundle, pki)
    assert check.outcome == "fail"
    assert "revoked on 2026-01-01T00:00:00+00:00 (reason: key_compromise)" in check.detail


def test_revocation_data_missed_at_stamping_is_fetched_by_recovery_on_another_instance(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with ocsp_tsa(pki) as url:  # the OCSP responder is down while the batch is stamped
        config = TsaConfig(name="ocsp-tsa", url=url, ca_file=pki.directory / "root.pem", timeout=5)
        first = make_services(tmp_path / "data", tsas=(config,))
        api = api_for(first)
        r = api.post("/v1/records", Chain().next(text="stamped while the responder was down"))
        assert r.status_code == 201
        batch_id = r.get_json()["receipt"]["batch"]["id"]
        deadline = time.monotonic() + 30
        while not first.store.exists(layout.revocation_wanted(batch_id, "ocsp-tsa")):
            assert time.monotonic() < deadline, "the missing revocation data was never marked"
            time.sleep(0.1)
        first.close()
        assert not first.store.exists(layout.revocation(batch_id, "ocsp-tsa"))
        with ocsp_responder(pki):
            second = make_services(tmp_path / "data", tsas=(config,))  # start-up recovery asks again
            try:
                stored = second.store.get(layout.revocation(batch_id, "ocsp-tsa"))
            finally:
                second.close()
    (status,) = tsa_revocation.statuses(tsa_revocation.decode(stored, "stored"))
    assert status is not None and status.status == "good"
