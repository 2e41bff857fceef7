"""The named bundle assets (tests/assets/bundles/README.md): each gives its verdict, in the engine and in verify.sh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from promptstamp import tokens
from promptstamp.bundle_names import asset_text
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "bundles"

# file -> (exit code, (step, check name) of the first failure or untrusted check, text in its detail)
EXPECTED = {
    "valid.asice": (0, None, ""),
    "tampered-image.asice": (1, ("records", "attachment 0 (output, image/png)"), "(the record's attachment)"),
    "removed-record.asice": (1, ("chain", "seq"), "seq 3 missing from the bundle"),
    "swapped-records.asice": (1, ("records", "record"), "records swapped or renamed"),
    "fabricated-report.asice": (1, ("derived", "re-rendered from the records"),
                                "report.html does not match the records"),
    "edited-readme.asice": (1, ("manifest", "digest in META-INF/ASiCManifest001.xml"), "expected SHA-256"),
    "unknown-key.asice": (2, ("keys", "service key"), "is not among the keys you trust"),
    "pending.asice": (1, ("records", "time-stamped"), "pending"),
    "zip-slip.asice": (1, ("container", "readable ASiC-E container"), "'..' path segments"),
    "zip-bomb.asice": (1, ("container", "readable ASiC-E container"), "ZIP bomb"),
    "duplicate-entry.asice": (1, ("container", "readable ASiC-E container"), "appears twice"),
    "wrong-mimetype.asice": (1, ("container", "readable ASiC-E container"), "expected mimetype"),
    "not-a-zip.asice": (1, ("container", "readable ASiC-E container"), "not a readable ZIP"),
}


# Where verify.sh cannot give the engine's verdict: it has no renderer, so it cannot re-create report.html
# from the records and tell a fabricated one (listings and tokens redone) from the real one.
VERIFY_SH_CODE = {"fabricated-report.asice": 0}


def _trust() -> Trust:
    return Trust.build(tokens.load_pem_certificates((ASSETS / "root.pem").read_bytes()),
                       [(ASSETS / "service-key.pem").read_text()])


def test_every_asset_is_listed() -> None:
    assert sorted(p.name for p in ASSETS.glob("*.asice")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_asset_verdict(name: str) -> None:
    code, first, text = EXPECTED[name]
    report = check_bundle((ASSETS / name).read_bytes(), _trust())
    assert report.exit_code == code
    flagged = report.failures or report.untrusted
    if first is None:
        assert not flagged
    else:
        assert (flagged[0].step, flagged[0].name) == first
        assert text in flagged[0].detail


@pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl")),
                    reason="verify.sh needs sh, unzip, sha256sum and openssl")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_asset_verdict_of_verify_sh(name: str, tmp_path: Path) -> None:
    script = tmp_path / "verify.sh"
    script.write_text(asset_text("verify.sh"))
    done = subprocess.run(["sh", str(script), "-k", str(ASSETS / "service-key.pem"), str(ASSETS / name),
                           str(ASSETS / "root.pem")], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == VERIFY_SH_CODE.get(name, EXPECTED[name][0]), done.stdout
