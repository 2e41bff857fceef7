"""report.pdf: the report as a PDF exhibit with its CJK font embedded, signed under the service key
(PAdES, signature time-stamp) with a document time-stamp; read back by pyHanko's validator and by
tools we did not write (poppler's pdfsig, pdffonts, pdftotext; openssl ts), and checked by the verifier."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import tsp, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from bundle_sample import OpensslTsa, SampleSession, bundle_entries, rebuild_bundle, sample_session
from promptstamp import bundle, signing, tokens, tsa_tokens
from promptstamp.devtsa import DevTsa
from promptstamp.pdfsign import PdfExhibitSigner, check_exhibit, exhibit_certificates, sign_exhibit
from promptstamp.report import from_evidence
from promptstamp.report.pdf import exhibit_pdf
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

POPPLER = all(shutil.which(t) for t in ("pdfsig", "pdffonts", "pdftotext"))


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="pdf-tsa")


@pytest.fixture(scope="module")
def made(tsa: OpensslTsa) -> tuple[bytes, SampleSession]:
    base = sample_session(tsa.stamp, n_records=6, image_every=0)
    values = [dict(r.value) for r in base.records]
    values[0]["text"] = "一只红色的狐狸在雪中，油画 — a red fox in the snow"
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, records_override=values)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp, exhibit=PdfExhibitSigner(session.key, tsa.stamp))
    return out.getvalue(), session


@pytest.fixture(scope="module")
def pdf(made: tuple[bytes, SampleSession], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(bundle_entries(made[0])["report.pdf"])
    return path


def _trust(tsa: OpensslTsa, session: SampleSession) -> Trust:
    return Trust.build(tokens.load_pem_certificates(tsa.root_pem.encode()), [session.key.public.pem])


def test_the_unsigned_exhibit_is_deterministic(made: tuple[bytes, SampleSession]) -> None:
    files = from_evidence(made[1].evidence)
    assert exhibit_pdf(files, ("en", "zh")) == exhibit_pdf(files, ("en", "zh"))


def test_the_verifier_accepts_the_signed_exhibit(made: tuple[bytes, SampleSession], tsa: OpensslTsa) -> None:
    report = check_bundle(made[0], _trust(tsa, made[1]))
    assert report.exit_code == 0, report.text()
    [check] = [c for c in report.checks if c.step == "exhibit"]
    assert check.outcome == "ok" and f"service key {made[1].key.id}" in check.detail


def test_pyhanko_validates_signature_and_time_stamps_against_their_roots(pdf: Path, tsa: OpensslTsa,
                                                                         made: tuple[bytes, SampleSession]) -> None:
    reader = PdfFileReader(io.BytesIO(pdf.read_bytes()))
    signature, doc_stamp = reader.embedded_signatures
    _key, _leaf, ca_der = exhibit_certificates(made[1].key, datetime.now(UTC))
    tsa_root = x509.Certificate.load(tokens.load_pem_certificates(tsa.root_pem.encode())[0])
    context = ValidationContext(trust_roots=[x509.Certificate.load(ca_der), tsa_root])
    # A fresh CA certificate of the same service key has the same name and key: it anchors the chain.
    status = validate_pdf_signature(signature, signer_validation_context=context,
                                    ts_validation_context=ValidationContext(trust_roots=[tsa_root]))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    ts_status = validate_pdf_timestamp(doc_stamp, validation_context=ValidationContext(trust_roots=[tsa_root]))
    assert ts_status.intact and ts_status.valid and ts_status.trusted
    assert ts_status.coverage is not None and ts_status.coverage.name == "ENTIRE_FILE"


@pytest.mark.skipif(not POPPLER, reason="needs poppler-utils (make pdf-tools)")
def test_pdfsig_finds_a_valid_signature_and_a_whole_document_time_stamp(pdf: Path) -> None:
    out = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    first, second = out.split("Signature #2:")
    assert "Signature Validation: Signature is Valid." in first and "PromptStamp evidence exhibit" in first
    assert "Total document signed" in second


@pytest.mark.skipif(not POPPLER, reason="needs poppler-utils (make pdf-tools)")
def test_the_cjk_font_is_embedded_and_the_chinese_text_reads_back(pdf: Path) -> None:
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"\+(NotoSansCJKSC|WenQuanYiMicroHei)\s.*\byes\s+yes\s+yes\b", fonts), fonts
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "AI 辅助创作过程记录" in text and "本证据能证明什么，不能证明什么" in text
    assert "一只红色的狐狸在雪中" in text and "What this evidence proves, and what it does not" in text


def test_openssl_verifies_the_document_time_stamp_over_the_signed_bytes(pdf: Path, tsa: OpensslTsa,
                                                                        tmp_path: Path) -> None:
    data = pdf.read_bytes()
    a, b, c, d = (int(x) for x in re.findall(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]", data)[-1])
    covered = data[a:a + b] + data[c:c + d]
    token = bytes.fromhex(data[a + b + 1:c - 1].decode("ascii"))
    length = token[1] & 0x7F if token[1] & 0x80 else 0
    size = (int.from_bytes(token[2:2 + length], "big") + 2 + length) if length else token[1] + 2
    (tmp_path / "covered.bin").write_bytes(covered)
    (tmp_path / "token.tst").write_bytes(token[:size])
    (tmp_path / "root.pem").write_text(tsa.root_pem)
    done = subprocess.run(["openssl", "ts", "-verify", "-token_in", "-in", "token.tst", "-data", "covered.bin",
                           "-CAfile", "root.pem"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr


def test_an_edited_or_foreign_exhibit_fails_verification(made: tuple[bytes, SampleSession],
                                                         tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    original = entries["report.pdf"]
    at = original.index(b"/Creator")
    entries["report.pdf"] = original[:at] + b"/Creator (Forged)" + original[at + len(b"/Creator (PromptStamp)"):]
    report = check_bundle(rebuild_bundle(entries, tsa.stamp), _trust(tsa, made[1]))
    assert report.exit_code == 1
    assert [c.step for c in report.failures] == ["exhibit"]

    other = sample_session(tsa.stamp, n_records=2, image_every=0)
    foreign = io.BytesIO()
    bundle.write_bundle(other.evidence, foreign, stamp=tsa.stamp,
                        exhibit=PdfExhibitSigner(signing.SigningKeyPair(b"\x09" * 32), tsa.stamp))
    swapped = bundle_entries(made[0])
    swapped["report.pdf"] = bundle_entries(foreign.getvalue())["report.pdf"]
    report = check_bundle(rebuild_bundle(swapped, tsa.stamp), _trust(tsa, made[1]))
    failures = [c for c in report.failures if c.step == "exhibit"]
    assert failures and "not issued by a service key of this bundle" in failures[0].detail


def test_an_exhibit_stays_trusted_after_its_tsa_certificate_expired(made: tuple[bytes, SampleSession]) -> None:
    """Its time-stamps are judged at their genTime, as the bundle's tokens are: the TSA certificate here
    expired 30 s ago, after it stamped the exhibit (a minute ago)."""
    now = datetime.now(UTC)
    root_key, tsa_key = tsa_tokens._new_key("ec"), tsa_tokens._new_key("ec")
    root = tsa_tokens.make_root(root_key, "Short-lived test root", not_before=now - timedelta(days=2))
    cert = tsa_tokens.make_tsa_cert(tsa_key, root, root_key, "Short-lived test TSA",
                                    not_before=now - timedelta(days=1, seconds=30), days=1)
    old = DevTsa(tsa_key, cert, root, clock=lambda: now - timedelta(seconds=60))

    def stamp(digest: bytes) -> dict[str, bytes]:
        request = tsp.TimeStampReq({"version": 1, "cert_req": True, "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest}})
        return {"short": old.token_for(request)}

    service = made[1].key
    unsigned = exhibit_pdf(from_evidence(made[1].evidence), ("en",))
    signed = sign_exhibit(unsigned, service, stamp, reason="test")
    assert cert.not_valid_after_utc < datetime.now(UTC)
    held = check_exhibit(signed, {service.id: service.public}, [old.root_der])
    assert f"service key {service.id}" in held
