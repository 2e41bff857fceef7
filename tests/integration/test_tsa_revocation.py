"""Revocation data for a TSA certificate from a real OCSP responder (``openssl ocsp`` serving an index):
fetched and checked, archived, and judged at a token's genTime without network: a certificate revoked
before genTime, or later for a key compromise, is rejected with its revocation time and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from openssl_ocsp import make_pki, ocsp_responder
from promptstamp import tsa_revocation
from promptstamp.errors import InvalidInput, TimestampError
from promptstamp.ocsp import judge, read_response

REVOKED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_good_status_is_captured_and_judged_offline(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    chain = [pki.der("tsa"), pki.der("root")]
    with ocsp_responder(pki):
        captured = tsa_revocation.capture(chain, timeout=5)
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
        (captured,) = tsa_revocation.capture([pki.der("tsa"), pki.der("root")], timeout=5)
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
        (captured,) = tsa_revocation.capture([pki.der("tsa"), pki.der("root")], timeout=5)
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
        tsa_revocation.capture([pki.der("tsa"), pki.der("root")], timeout=2)
