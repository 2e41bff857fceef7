"""The built-in dev TSA: a real RFC 3161 responder whose tokens OpenSSL accepts, labelled UNTRUSTED."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from promptstamp import devtsa, tokens
from promptstamp.devtsa import LABEL, POLICY_OID, DevTsa
from promptstamp.errors import TokenError

DATA = b"hello evidence"
DIGEST = hashlib.sha256(DATA).digest()


def query(
    digest: bytes = DIGEST,
    *,
    alg: str = "sha256",
    nonce: int | None = 0x0123456789ABCDEF,
    cert_req: bool = True,
    **extra: object,
) -> bytes:
    req: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": alg}, "hashed_message": digest},
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        req["nonce"] = nonce
    return bytes(tsp.TimeStampReq(req).dump())


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> DevTsa:
    return DevTsa.load_or_create(tmp_path_factory.mktemp("devtsa"))


def openssl_verify(tmp: Path, response: bytes, root_pem: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp / "r.tsr").write_bytes(response)
    (tmp / "root.pem").write_text(root_pem)
    cmd = ["openssl", "ts", "-verify", "-in", str(tmp / "r.tsr"), "-CAfile", str(tmp / "root.pem"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_openssl_verifies_a_dev_token_by_digest(tsa: DevTsa, tmp_path: Path) -> None:
    p = openssl_verify(tmp_path, tsa.respond(query()), tsa.root_pem, "-digest", DIGEST.hex())
    assert p.returncode == 0, p.stderr
    assert "Verification: OK" in p.stdout


def test_openssl_verifies_nonce_and_imprint_against_the_query(tsa: DevTsa, tmp_path: Path) -> None:
    q = query(nonce=0x7FEEDBEEF)
    (tmp_path / "q.tsq").write_bytes(q)
    p = openssl_verify(tmp_path, tsa.respond(q), tsa.root_pem, "-queryfile", str(tmp_path / "q.tsq"))
    assert p.returncode == 0, p.stderr
    (tmp_path / "other.tsq").write_bytes(query(nonce=1))
    p = openssl_verify(tmp_path, tsa.respond(q), tsa.root_pem, "-queryfile", str(tmp_path / "other.tsq"))
    assert p.returncode != 0
    assert "nonce mismatch" in p.stderr


def test_without_cert_req_no_certificates_are_embedded(tsa: DevTsa, tmp_path: Path) -> None:
    response = tsa.respond(query(cert_req=False))
    assert tokens.token_info(response).certificates == ()
    (tmp_path / "leaf.pem").write_text(tokens.certificates_pem(tsa.chain_der[:1]))
    p = openssl_verify(
        tmp_path, response, tsa.root_pem, "-digest", DIGEST.hex(), "-untrusted", str(tmp_path / "leaf.pem")
    )
    assert p.returncode == 0, p.stderr


def test_rsa_dev_tsa_tokens_verify_with_openssl(tmp_path: Path) -> None:
    rsa_tsa = DevTsa.load_or_create(tmp_path / "pki", key_type="rsa")
    p = openssl_verify(tmp_path, rsa_tsa.respond(query()), rsa_tsa.root_pem, "-digest", DIGEST.hex())
    assert p.returncode == 0, p.stderr
    assert tokens.verify_token(rsa_tsa.respond(query()), digest=DIGEST, roots=[rsa_tsa.root_der]).valid_now


def test_token_contents(tsa: DevTsa) -> None:
    verdict = tokens.verify_token(
        tsa.respond(query(nonce=42)), digest=DIGEST, roots=[tsa.root_der], nonce=42, policy=POLICY_OID
    )
    info = verdict.info
    assert info.accuracy == "1s"
    assert info.tsa_name == info.signer_subject == f"CN={LABEL},O=PromptStamp"
    assert verdict.root_subject == f"CN={LABEL} root,O=PromptStamp"
    assert sorted(info.certificates) == sorted(tsa.chain_der)  # a DER SET OF: sorted, not in chain order
    assert verdict.chain == tsa.chain_der
    assert abs(info.gen_time - datetime.now(UTC)) < timedelta(seconds=5)
    assert info.gen_time.microsecond % 1000 == 0  # milliseconds
    assert verdict.notes == ()


def test_serial_numbers_are_unique_and_large(tsa: DevTsa) -> None:
    serials = {tokens.token_info(tsa.respond(query())).serial for _ in range(200)}
    assert len(serials) == 200
    assert max(serials).bit_length() > 100


def test_responses_without_nonce_have_none(tsa: DevTsa) -> None:
    assert tokens.token_info(tsa.respond(query(nonce=None))).nonce is None


def test_signing_certificate_v2_names_the_signer(tsa: DevTsa) -> None:
    response = tsp.TimeStampResp.load(tsa.respond(query()))
    attrs = response["time_stamp_token"]["content"]["signer_infos"][0]["signed_attrs"]
    ess = next(a for a in attrs if a["type"].native == "signing_certificate_v2")["values"][0]
    cert_id = ess["certs"][0]
    assert cert_id["cert_hash"].native == hashlib.sha256(tsa.chain_der[0]).digest()
    assert (
        cert_id["issuer_serial"]["serial_number"].native
        == x509.load_der_x509_certificate(tsa.chain_der[0]).serial_number
    )


REJECTIONS = [
    ("malformed", b"\x30\x03\x02\x01", "bad_data_format", "malformed TimeStampReq"),
    ("sha1", query(hashlib.sha1(DATA).digest(), alg="sha1"), "bad_alg", "unsupported hash algorithm sha1"),
    ("md5", query(hashlib.md5(DATA).digest(), alg="md5"), "bad_alg", "unsupported hash algorithm md5"),
    ("short imprint", query(DIGEST[:20]), "bad_data_format", "a sha256 imprint has 32 bytes, found 20"),
    ("version 2", query(version=2), "bad_request", "expected TimeStampReq version 1, found 2"),
    ("other policy", query(req_policy="1.2.3.4"), "unaccepted_policy", f"this TSA issues policy {POLICY_OID} only"),
    (
        "extension",
        query(extensions=[{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"x"}]),
        "unaccepted_extensions",
        "this TSA accepts no request extensions",
    ),
]


@pytest.mark.parametrize(("label", "q", "fail_info", "text"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_bad_requests_are_rejected_with_failinfo(tsa: DevTsa, label: str, q: bytes, fail_info: str, text: str) -> None:
    status = devtsa._TimeStampResp.load(tsa.respond(q))["status"]  # asn1crypto's own class requires a token
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {fail_info}
    assert text in status["status_string"].native[0]
    with pytest.raises(TokenError) as e:
        tokens.token_from_response(tsa.respond(q))
    assert e.value.code == "status"
    assert fail_info in e.value.detail


def test_openssl_reads_a_rejection(tsa: DevTsa, tmp_path: Path) -> None:
    (tmp_path / "r.tsr").write_bytes(tsa.respond(query(hashlib.sha1(DATA).digest(), alg="sha1")))
    p = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text"], capture_output=True, text=True, timeout=30
    )
    assert "Status: Rejected." in p.stdout
    assert "unrecognized or unsupported algorithm identifier" in p.stdout


def test_pki_is_persisted_with_private_keys_0600_and_reused(tmp_path: Path) -> None:
    first = DevTsa.load_or_create(tmp_path / "d")
    for name in ("root.key", "tsa.key"):
        assert stat.S_IMODE((tmp_path / "d" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    assert (tmp_path / "d" / "root.pem").read_text() == first.root_pem
    again = DevTsa.load_or_create(tmp_path / "d")
    assert again.chain_der == first.chain_der
    assert again.ca_file == tmp_path / "d" / "root.pem"


def test_certificates_say_untrusted_and_the_tsa_eku_is_critical(tsa: DevTsa) -> None:
    leaf, root = (x509.load_der_x509_certificate(d) for d in tsa.chain_der)
    assert "UNTRUSTED" in leaf.subject.rfc4514_string() and "UNTRUSTED" in root.subject.rfc4514_string()
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]


def test_expired_leaf_is_reissued_under_the_same_root(tmp_path: Path) -> None:
    d = tmp_path / "d"
    first = DevTsa.load_or_create(d)
    root_key = serialization.load_pem_private_key((d / "root.key").read_bytes(), password=None)
    root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
    old_key = serialization.load_pem_private_key((d / "tsa.key").read_bytes(), password=None)
    expired = devtsa.make_tsa_cert(
        old_key,  # type: ignore[arg-type]
        root,
        root_key,  # type: ignore[arg-type]
        LABEL,
        not_before=datetime.now(UTC) - timedelta(days=20),
        days=10,
    )
    (d / "tsa.pem").write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    renewed = DevTsa.load_or_create(d)
    assert renewed.root_der == first.root_der
    assert renewed.chain_der[0] != first.chain_der[0]
    assert tokens.verify_token(renewed.respond(query()), digest=DIGEST, roots=[first.root_der]).valid_now


def test_concurrent_first_starts_create_one_pki(tmp_path: Path) -> None:
    results: list[DevTsa] = []
    threads = [threading.Thread(target=lambda: results.append(DevTsa.load_or_create(tmp_path / "d"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.chain_der for r in results}) == 1


def test_http_endpoints(dev_tsa: DevTsa) -> None:
    page = requests.get(dev_tsa.url, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/plain")
    assert "PromptStamp development TSA - UNTRUSTED" in page.text
    assert f"{dev_tsa.url}root.pem" in page.text
    root = requests.get(dev_tsa.url + "root.pem", timeout=5)
    assert root.text == dev_tsa.root_pem
    assert requests.get(dev_tsa.url + "nope", timeout=5).status_code == 404
    wrong_type = requests.post(dev_tsa.url, data=query(), headers={"Content-Type": "text/plain"}, timeout=5)
    assert wrong_type.status_code == 415
    ok = requests.post(dev_tsa.url, data=query(), headers={"Content-Type": "application/timestamp-query"}, timeout=5)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/timestamp-reply"
    tokens.verify_token(ok.content, digest=DIGEST, roots=[dev_tsa.root_der])


def test_http_rejects_oversized_queries(dev_tsa: DevTsa) -> None:
    big = requests.post(
        dev_tsa.url,
        data=b"\x00" * (devtsa.MAX_QUERY_BYTES + 1),
        headers={"Content-Type": "application/timestamp-query"},
        timeout=5,
    )
    assert big.status_code == 413


def test_tsa_config_is_marked_untrusted(dev_tsa: DevTsa) -> None:
    config = dev_tsa.tsa_config("dev")
    assert config.untrusted is True
    assert config.url == dev_tsa.url
    assert config.ca_file is not None and config.ca_file.read_text() == dev_tsa.root_pem


def test_url_needs_a_running_server(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        _ = DevTsa.load_or_create(tmp_path).url
