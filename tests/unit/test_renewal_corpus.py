"""The renewal corpus (tests/assets/renewals, made by its make.py with the service and OpenSSL TSAs): each
MANIFEST row gets its exit code from ``promptstamp verify`` judging certificates at the row's time, the
browser verifier's tests hold it to the same rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from promptstamp.verdict import Report
from promptstamp.verify import check_bundle, trust_from_pems
from renewal_corpus import RENEWALS, manifest_rows


def verify_at(bundle: str, at: str) -> Report:
    trust, _ = trust_from_pems([(RENEWALS / "tsa-roots.pem").read_bytes()],
                               [(RENEWALS / "service-key.pem").read_text()])
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return check_bundle((RENEWALS / bundle).read_bytes(), replace(trust, at=moment))


def long_term(report: Report) -> list[tuple[str, str]]:
    return [(c.outcome, c.detail) for c in report.checks if c.name == "time-stamp valid long-term"]


@pytest.mark.parametrize(("bundle", "at", "code"), manifest_rows(), ids=[f"{r[0]}@{r[1]}" for r in manifest_rows()])
def test_each_renewal_bundle_gets_its_manifest_exit_code(bundle: str, at: str, code: int) -> None:
    report = verify_at(bundle, at)
    assert report.exit_code == code, report.text()
    # Each batch has its own long-term check: the row's verdict comes from one of them, the others hold.
    outcomes = {outcome for outcome, _ in long_term(report)}
    expected = {0: "ok", 1: "fail", 2: "untrusted"}[code]
    assert (expected in outcomes and outcomes <= {"ok", expected}) or (code == 0 and not outcomes), long_term(report)


def test_a_forged_hash_tree_fails_the_imprint_of_the_first_archive_time_stamp() -> None:
    at = next(a for b, a, _ in manifest_rows() if b == "tampered-evidence.asice")
    (detail,) = [d for outcome, d in long_term(verify_at("tampered-evidence.asice", at)) if outcome == "fail"]
    assert "archive time-stamp 1: the imprint check failed" in detail
