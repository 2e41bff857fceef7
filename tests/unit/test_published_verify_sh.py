"""verify.sh is published by the project (repository, GET /verify.sh, /v1/keys, README), never taken from a bundle."""

from __future__ import annotations

from pathlib import Path

from promptstamp import bundle_names

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_gives_the_published_scripts_sha256() -> None:
    sha = bundle_names.published_verify_sh_sha256()
    assert f"verify.sh SHA-256: `{sha}`" in (ROOT / "README.md").read_text(), (
        "README.md must give the SHA-256 of server/promptstamp/bundle_assets/verify.sh: " + sha)


def test_no_instruction_says_to_run_the_bundles_copy() -> None:
    texts = [(ROOT / "README.md").read_text(), bundle_names.asset_text("README.txt"),
             (ROOT / "docs" / "format.md").read_text()]
    for text in texts:
        assert "unzip -p" not in text or "verify.sh >" not in text
