"""The renewal corpus (tests/assets/renewals) held to the published verify.sh: each MANIFEST row gets its exit code
from the script judging certificates at the row's time (``--at``), as from ``promptstamp verify``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from promptstamp.bundle_names import asset_text
from renewal_corpus import RENEWALS, manifest_rows

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl", "od")),
                                reason="verify.sh needs sh, unzip, sha256sum, od and openssl")


def verify_sh_at(bundle: str, at: str, tmp_path: Path) -> tuple[int, str]:
    script = tmp_path / "verify.sh"
    script.write_text(asset_text("verify.sh"))  # the published script, not a bundle's copy
    done = subprocess.run(["sh", str(script), "-k", str(RENEWALS / "service-key.pem"), "--at", at,
                           str(RENEWALS / bundle), str(RENEWALS / "tsa-roots.pem")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("bundle", "at", "code"), manifest_rows(), ids=[f"{r[0]}@{r[1]}" for r in manifest_rows()])
def test_each_renewal_bundle_gets_its_manifest_exit_code_from_verify_sh(bundle: str, at: str, code: int,
                                                                      tmp_path: Path) -> None:
    got, out = verify_sh_at(bundle, at, tmp_path)
    assert got == code, out
    long_term = [line for line in out.splitlines() if ": time-stamp valid long-term: " in line]
    word = {0: "OK", 1: "FAIL", 2: "NOTE"}[code]
    # Each batch has its own long-term line: the row's verdict comes from one of them, the others hold.
    decided = any(line.startswith(word) for line in long_term)
    assert (decided and all(line.startswith(("OK", word)) for line in long_term)) or (code == 0 and not long_term), \
        long_term


def test_verify_sh_names_the_forged_tree_and_the_revoked_renewal(tmp_path: Path) -> None:
    rows = {b: a for b, a, _ in manifest_rows()}
    _, out = verify_sh_at("tampered-evidence.asice", rows["tampered-evidence.asice"], tmp_path)
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    # Only the evidence records fail: the listings resealed by the renewing TSA chain to a root given.
    assert failed and all("evidence.ers: archive time-stamp 1 does not verify over its hash tree's root" in line
                          and line.endswith("message imprint mismatch") for line in failed), out
    _, out = verify_sh_at("revoked-renewal.asice", rows["revoked-renewal.asice"], tmp_path)
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed and all("TSA certificate revoked: " in line and "(reason: keyCompromise)" in line for line in failed)
