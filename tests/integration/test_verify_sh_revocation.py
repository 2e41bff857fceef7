"""The published verify.sh judges the OCSP responses archived with each batch token (``<tsa>.ocsp.json``) at the
token's genTime, with ``openssl ocsp`` and no network, as ``promptstamp verify`` does: the set-up of
test_tsa_revocation (an OpenSSL TSA whose certificate an ``openssl ocsp`` responder calls good or revoked)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_tsa_revocation import stamped_bundle

from openssl_ocsp import OcspPki, make_pki, ocsp_responder, ocsp_tsa
from promptstamp.bundle_names import asset_text
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl", "od")),
                                reason="verify.sh needs sh, unzip, sha256sum, od and openssl")


def verify_sh(bundle: bytes, pki: OcspPki, tmp_path: Path) -> tuple[int, str]:
    """verify.sh given the PKI's root (and no service key: exit 2 at best), every responder gone."""
    (tmp_path / "b.asice").write_bytes(bundle)
    script = tmp_path / "verify.sh"
    script.write_text(asset_text("verify.sh"))
    done = subprocess.run(["sh", str(script), str(tmp_path / "b.asice"), str(pki.directory / "root.pem")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == check_bundle(bundle, Trust.build([pki.der("root")], [])).exit_code, done.stdout
    return done.returncode, done.stdout + done.stderr


def test_verify_sh_reads_a_good_status_from_the_archived_response(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with ocsp_responder(pki), ocsp_tsa(pki) as url:
        bundle = stamped_bundle(tmp_path, pki, url)
    code, out = verify_sh(bundle, pki, tmp_path)
    assert code == 2 and not [line for line in out.splitlines() if line.startswith("FAIL")], out
    stamped = [line for line in out.splitlines() if line.startswith("OK    batch ") and "ocsp-tsa.tst" in line]
    assert stamped and any("revocation at genTime: CN = OCSP Test TSA, O = Local Test: not revoked (OCSP)" in line
                           for line in stamped), out


def test_verify_sh_rejects_a_token_whose_tsa_certificate_is_revoked_with_the_time_and_reason(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    pki.write_index(revoked_at="260101000000Z", reason="keyCompromise")
    with ocsp_responder(pki), ocsp_tsa(pki) as url:
        bundle = stamped_bundle(tmp_path, pki, url)
    code, out = verify_sh(bundle, pki, tmp_path)
    assert code == 1
    revoked = [line for line in out.splitlines() if line.startswith("FAIL  batch ") and "ocsp-tsa.tst" in line]
    assert revoked, out
    assert ("does not verify: TSA certificate revoked: CN = OCSP Test TSA, O = Local Test: revoked on "
            "Jan  1 00:00:00 2026 GMT (reason: keyCompromise), at or before the time-stamp's genTime") in revoked[0]
