"""One corpus, every verifier, one verdict: ``promptstamp verify``, the published ``verify.sh`` and
``POST /v1/verify`` give each case of ``tests/assets/corpus/MANIFEST`` its exit code and verdict."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptstamp import bundle_names

CORPUS = Path(__file__).resolve().parents[1] / "assets" / "corpus"
VERDICT_LINES = {0: "VALID: ", 1: "INVALID: ", 2: "VALID BUT NOT TRUSTED: "}
SH_RESULTS = {0: "RESULT: VALID against", 1: "RESULT: INVALID", 2: "RESULT: VALID BUT NOT TRUSTED"}


def _cases() -> list[tuple[str, str, str, int, str]]:
    out = []
    for line in (CORPUS / "MANIFEST").read_text().splitlines():
        if line and not line.startswith("#"):
            bundle, root, key, code, verdict, _what = line.split("\t")
            out.append((bundle, root, key, int(code), verdict))
    return out


CASES = _cases()
IDS = [f"{b}-{r.removesuffix('.pem')}-{'key' if k != '-' else 'nokey'}" for b, r, k, _, _ in CASES]


def test_the_corpus_has_every_kind_of_case() -> None:
    names = {c[0] for c in CASES}
    assert {"good.asice", "tampered-image.asice", "forged.asice", "mixed-account.asice", "pending.asice"} <= names
    assert {c[3] for c in CASES} == {0, 1, 2}
    assert ("good.asice", "other-root.pem", "service-key.pem", 2, "VALID-BUT-NOT-TRUSTED") in CASES  # wrong root
    assert ("good.asice", "tsa-root.pem", "-", 2, "VALID-BUT-NOT-TRUSTED") in CASES  # untrusted key


@pytest.mark.parametrize(("bundle", "root", "key", "code", "verdict"), CASES, ids=IDS)
def test_promptstamp_verify(bundle: str, root: str, key: str, code: int, verdict: str) -> None:
    args = [sys.executable, "-c", "from promptstamp.cli import main; main()", "verify", str(CORPUS / bundle),
            "--tsa-root", str(CORPUS / root)]
    if key != "-":
        args += ["--trust-key", str(CORPUS / key)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.startswith(VERDICT_LINES[code]), done.stdout[:300]


@pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl")),
                    reason="verify.sh needs sh, unzip, sha256sum and openssl")
@pytest.mark.parametrize(("bundle", "root", "key", "code", "verdict"), CASES, ids=IDS)
def test_published_verify_sh(api: Any, bundle: str, root: str, key: str, code: int, verdict: str,
                             tmp_path: Path) -> None:
    # The script as the service publishes it (GET /verify.sh, SHA-256 on /v1/keys), not the bundle's copy.
    published = api.client.get("/verify.sh")
    assert published.status_code == 200 and published.data == bundle_names.published_verify_sh()
    assert api.client.get("/v1/keys").get_json()["verify_sh"] == {
        "url": "/verify.sh", "sha256": bundle_names.published_verify_sh_sha256()}
    script = tmp_path / "verify.sh"
    script.write_bytes(published.data)
    args = ["sh", str(script)]
    if key != "-":
        args += ["-k", str(CORPUS / key)]
    args += [str(CORPUS / bundle), str(CORPUS / root)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert SH_RESULTS[code] in done.stdout.splitlines()[-1], done.stdout[-600:]


@pytest.mark.parametrize(("bundle", "root", "key", "code", "verdict"), CASES, ids=IDS)
def test_verify_endpoint(api: Any, bundle: str, root: str, key: str, code: int, verdict: str) -> None:
    form: dict[str, Any] = {"file": (io.BytesIO((CORPUS / bundle).read_bytes()), bundle),
                            "tsa_root": (io.BytesIO((CORPUS / root).read_bytes()), root)}
    if key != "-":
        form["trust_key"] = (io.BytesIO((CORPUS / key).read_bytes()), key)
    answer = api.client.post("/v1/verify", data=form, content_type="multipart/form-data",
                             headers={"Authorization": f"Bearer {api.token}"})
    assert answer.status_code == 200, answer.get_data()[:300]
    body = answer.get_json()
    assert body["exit_code"] == code, body
    assert body["verdict"].startswith(VERDICT_LINES[code]), body["verdict"]
