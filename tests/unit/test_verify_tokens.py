"""``promptstamp verify`` on real third-party tokens: each verdict is the one tests/assets/real-tsa/README.md gives.

Exit 0 valid and trusted; 1 invalid (the failing check is named); 2 intact but resting on a root not given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptstamp.cli_evidence import verify_command

REAL = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"

G4_ROOT = "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"
IDENTRUST = "identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem"
SIGSTAGE = "sigstage-2025/ts_chain.pem"

# (token, data file or "@digest-file", roots, extra certs, exit code, failing check or None, text in the verdict)
CASES = [
    ("digicert-2025/response.tsr", "digicert-2025/data.txt", ["digicert-2025/root-DigiCert_Trusted_Root_G4.pem"],
     [], 0, None, "DigiCert Trusted Root G4"),
    ("digicert-2025/response.tsr", "digicert-2025/data.txt", ["digicert-2025/root-DigiCert_Assured_ID_Root_CA.pem"],
     [], 0, None, "DigiCert Assured ID Root CA"),
    ("identrust-2025/response.tsr", "identrust-2025/data.txt", [IDENTRUST],
     [], 0, None, "IdenTrust Commercial Root CA 1"),
    ("identrust-2025/token.tst", "identrust-2025/data.txt", [IDENTRUST],
     [], 0, None, "IdenTrust"),
    ("identrust-2025/hello-response.tsr", "identrust-2025/hello.txt",
     [IDENTRUST], [], 0, None, "IdenTrust"),
    ("sinpe-costa-rica-2025/response.tsr", "sinpe-costa-rica-2025/data.txt", [], [], 2, None, "chain stops at"),
    ("globalsign-adobe-cds-2017/response-nonce.tsr", "globalsign-adobe-cds-2017/data.txt", [], [], 2, None,
     "chain stops at"),
    ("globalsign-adobe-cds-2017/response-no-nonce.tsr", "globalsign-adobe-cds-2017/data.txt", [], [], 2, None,
     "chain stops at"),
    ("globalsign-adobe-cds-2017/response-no-certs.tsr", "globalsign-adobe-cds-2017/data.txt", [],
     ["globalsign-adobe-cds-2017/embedded-certs.pem"], 2, None, "chain stops at"),
    ("globalsign-adobe-cds-2017/response-rejection.tsr", "globalsign-adobe-cds-2017/data.txt", [], [], 1, "status",
     "Error during serial number generation"),
    ("globalsign-aatl-2017/token.tst", "@globalsign-aatl-2017/digest-sha256.hex",
     ["globalsign-aatl-2017/root-GlobalSign_Root_CA_-_R3.pem"], [], 0, None, "GlobalSign"),
    ("globalsign-g4-2021/token.tst", "globalsign-g4-2021/data.txt", [G4_ROOT], [], 0, None, "GlobalSign"),
    ("globalsign-g4-2021/response.tsr", "globalsign-g4-2021/data.txt", [G4_ROOT], [], 0, None, "GlobalSign"),
    ("globalsign-g4-2021/token-no-certs.tst", "globalsign-g4-2021/data.txt", [G4_ROOT],
     ["globalsign-g4-2021/embedded-certs.pem"], 0, None, "GlobalSign"),
    ("globalsign-g4-2021/token-invalid-signature.tst", "globalsign-g4-2021/data.txt", [G4_ROOT], [], 1, "signature",
     "signature"),
    ("globalsign-g4-2021/token-mismatch-esscertid.tst", "globalsign-g4-2021/data.txt", [G4_ROOT], [], 1, "signature",
     "signature"),
    ("globalsign-g4-2021/token-bad-imprint-alg.tst", "globalsign-g4-2021/data.txt", [G4_ROOT], [], 1,
     "imprint_algorithm", "found sha1_rsa"),
    ("freetsa-2024/response.tsr", "freetsa-2024/data.txt", ["freetsa-2024/root-freetsa_cacert.pem"], [], 0, None,
     "freetsa"),
    ("freetsa-2024/token.tst", "freetsa-2024/data.txt", ["freetsa-2024/root-freetsa_cacert.pem"], [], 0, None,
     "freetsa"),
    ("microsoft-2024/token.tst", "@microsoft-2024/digest-sha256.hex", [], [], 2, None, "chain stops at"),
    ("sigstage-2025/response-sha256.tsr", "sigstage-2025/hello.txt", [SIGSTAGE], [], 0, None, "sigstore-tsa"),
    ("sigstage-2025/response-sha384.tsr", "sigstage-2025/hello.txt", [SIGSTAGE], [], 0, None, "sigstore-tsa"),
    ("sigstage-2025/response-sha512.tsr", "sigstage-2025/hello.txt", [SIGSTAGE], [], 0, None, "sigstore-tsa"),
    ("sigstage-2025/issue1482-response-no-certs.tsr", "sigstage-2025/issue1482-message.bin", [SIGSTAGE], [], 0, None,
     "sigstore-tsa"),
    ("sigstage-2025/response-no-embedded-cert.tsr", "sigstage-2025/hello.txt", [SIGSTAGE], [], 0, None,
     "sigstore-tsa"),
    ("sigstage-2025/response-invalid-signature.tsr", "sigstage-2025/hello.txt", [SIGSTAGE], [], 1, "signature",
     "signature"),
]


def _run(token: str, data: str, roots: list[str], certs: list[str]) -> tuple[int, dict[str, object], str]:
    args = [str(REAL / token), "--json"]
    if data.startswith("@"):
        args += ["--digest", (REAL / data[1:]).read_text().strip()]
    else:
        args += ["--data", str(REAL / data)]
    for r in roots:
        args += ["--tsa-root", str(REAL / r)]
    for c in certs:
        args += ["--certs", str(REAL / c)]
    result = CliRunner().invoke(verify_command, args)
    return result.exit_code, json.loads(result.stdout), result.stdout


@pytest.mark.parametrize(("token", "data", "roots", "certs", "code", "check", "text"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_real_token_verdict_matches_the_manifest(token: str, data: str, roots: list[str], certs: list[str],
                                                 code: int, check: str | None, text: str) -> None:
    exit_code, report, raw = _run(token, data, roots, certs)
    assert exit_code == code, raw
    rows = report["checks"]
    assert isinstance(rows, list)
    if check is not None:
        failed = [r for r in rows if r["outcome"] == "fail"]
        assert [r["check"] for r in failed] == [check]
    assert text.lower() in raw.lower()


def test_identrust_is_valid_at_gentime_and_says_it_is_not_valid_now() -> None:
    _code, report, _raw = _run("identrust-2025/token.tst", "identrust-2025/data.txt",
                               [IDENTRUST], [])
    facts = report["facts"]
    assert isinstance(facts, dict)
    assert facts["valid now"].startswith("no")


def test_wrong_data_is_an_imprint_failure() -> None:
    code, report, _raw = _run("globalsign-g4-2021/token.tst", "globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem",
                              [G4_ROOT], [])
    assert code == 1
    assert [r["check"] for r in report["checks"] if r["outcome"] == "fail"] == ["imprint"]  # type: ignore[union-attr]


def test_text_output_names_the_root_and_the_time() -> None:
    result = CliRunner().invoke(verify_command, [str(REAL / "globalsign-g4-2021/token.tst"), "--data",
                                                 str(REAL / "globalsign-g4-2021/data.txt"), "--tsa-root",
                                                 str(REAL / G4_ROOT)])
    assert result.exit_code == 0
    assert result.stdout.startswith("VALID")
    assert "genTime: 2021-09-17T14:09:10Z" in result.stdout
    assert "TSA root 'CN=GlobalSign" in result.stdout


def test_a_token_needs_data_or_digest() -> None:
    result = CliRunner().invoke(verify_command, [str(REAL / "globalsign-g4-2021/token.tst")])
    assert result.exit_code == 1
    assert "needs exactly one of" in result.stderr
