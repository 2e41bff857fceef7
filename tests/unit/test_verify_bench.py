"""bench_verify.run: the figures make bench prints, on a small bundle."""

from __future__ import annotations

import verify_bench as bench_verify


def test_bench_verify_reports_records_per_second_beside_openssl() -> None:
    lines: list[str] = []
    figures = bench_verify.run(lines.append, records=300, batch_size=64)
    # 300 records in 5 batches, plus the batch of the account and pairing records.
    assert figures["records"] == 300 and figures["batches"] == 6
    assert figures["records_per_s"] > 0 and figures["openssl_tokens"] == 8
    assert figures["verify_sh_s"] > 0  # verify.sh said VALID, or run() raised
    assert figures["browser_s"] > 0  # the page in Chromium said VALID (exit 0), or run() raised
    assert len(lines) == 5 and "records/s" in lines[1] and "verify.sh" in lines[2]
    assert "browser verifier" in lines[3] and "openssl ts -verify" in lines[4]
