"""TsaClient against real TSAs: OpenSSL's (RSA and EC), the dev TSA, and TSAs that misbehave on purpose."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import tsp

from openssl_tsa import OpenSslTsa
from promptstamp.config import TsaConfig
from promptstamp.devtsa import DevTsa
from promptstamp.errors import ConfigError, TimestampError
from promptstamp.timestamping import MAX_RESPONSE_BYTES, SYSTEM_CA_BUNDLE, StampedToken, TsaClient, load_trust
from promptstamp.tokens import certificate_subject, verify_token

ROOT = hashlib.sha256(b"a batch's Merkle root").digest()


def openssl_verify_token(tmp: Path, stamped: StampedToken, ca_file: Path) -> None:
    (tmp / "t.tst").write_bytes(stamped.token)
    p = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-token_in",
            "-in",
            str(tmp / "t.tst"),
            "-digest",
            ROOT.hex(),
            "-CAfile",
            str(ca_file),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 0, p.stderr
    assert "Verification: OK" in p.stdout


@pytest.mark.parametrize("section", ["tsa_rsa", "tsa_ec"])
def test_stamp_from_openssl_tsa(openssl_tsa: OpenSslTsa, section: str, tmp_path: Path) -> None:
    client = TsaClient(openssl_tsa.config("openssl", section))
    stamped = client.stamp(ROOT)
    assert (stamped.tsa, stamped.untrusted) == ("openssl", False)
    assert stamped.info.imprint == ROOT and stamped.info.imprint_algorithm == "sha256"
    assert stamped.info.nonce is not None and stamped.info.nonce < 2**64
    assert stamped.info.policy == "1.3.6.1.4.1.99999.1.1"
    leaf = openssl_tsa.tsa_rsa_pem if section == "tsa_rsa" else openssl_tsa.tsa_ec_pem
    assert stamped.info.signer_subject == certificate_subject(load_trust(leaf)[0][0])
    openssl_verify_token(tmp_path, stamped, openssl_tsa.root_pem)
    # the stored token verifies again offline, chain through the embedded intermediate
    verdict = verify_token(stamped.token, digest=ROOT, roots=client.roots)
    assert verdict.root_subject == "O=Local Test,CN=Test TSA Root CA"
    assert len(verdict.chain) == 3


def test_stamp_from_dev_tsa_is_marked_untrusted(dev_tsa: DevTsa, tmp_path: Path) -> None:
    stamped = TsaClient(dev_tsa.tsa_config("devtsa")).stamp(ROOT)
    assert (stamped.tsa, stamped.untrusted) == ("devtsa", True)
    assert stamped.info.signer_subject == "CN=PromptStamp development TSA - UNTRUSTED,O=PromptStamp"
    assert dev_tsa.ca_file is not None
    openssl_verify_token(tmp_path, stamped, dev_tsa.ca_file)


def test_each_request_has_a_fresh_nonce(dev_tsa: DevTsa) -> None:
    client = TsaClient(dev_tsa.tsa_config())
    nonces = {client.stamp(ROOT).info.nonce for _ in range(20)}
    assert len(nonces) == 20


def test_concurrent_stamps(dev_tsa: DevTsa, openssl_tsa: OpenSslTsa) -> None:
    dev = TsaClient(dev_tsa.tsa_config())
    ossl = TsaClient(openssl_tsa.config("openssl", "tsa_ec"))
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(48)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        stamped = list(pool.map(dev.stamp, digests)) + list(pool.map(ossl.stamp, digests[:16]))
    assert [s.info.imprint for s in stamped] == digests + digests[:16]
    assert len({(s.tsa, s.info.serial) for s in stamped}) == len(stamped)


@contextmanager
def serving(answer: Callable[[bytes], tuple[int, bytes]]) -> Iterator[str]:
    """A TSA that answers each POSTed query with ``answer(query) -> (HTTP status, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            code, body = answer(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(code)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def rewritten(query: bytes, **changes: object) -> bytes:
    req = tsp.TimeStampReq.load(query)
    for key, value in changes.items():
        req[key] = value
    return bytes(req.dump(force=True))


def client_for(url: str, dev_tsa: DevTsa, *, timeout: float = 5.0) -> TsaClient:
    return TsaClient(TsaConfig(name="liar", url=url, ca_file=dev_tsa.ca_file, timeout=timeout))


def test_answer_to_another_nonce_is_refused(dev_tsa: DevTsa) -> None:
    with serving(lambda q: (200, dev_tsa.respond(rewritten(q, nonce=1)))) as url:
        with pytest.raises(TimestampError) as e:
            client_for(url, dev_tsa).stamp(ROOT)
    assert e.value.detail.startswith("TSA liar: response failed the nonce check: expected nonce 0x")
    assert e.value.detail.endswith(", found 0x1")
    assert e.value.__cause__ is not None


def test_answer_for_another_digest_is_refused(dev_tsa: DevTsa) -> None:
    other = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(b"other").digest()}
    with serving(lambda q: (200, dev_tsa.respond(rewritten(q, message_imprint=other)))) as url:
        with pytest.raises(TimestampError) as e:
            client_for(url, dev_tsa).stamp(ROOT)
    assert e.value.detail.startswith(f"TSA liar: response failed the imprint check: expected imprint {ROOT.hex()}")


def test_token_under_an_unconfigured_root_is_refused(dev_tsa: DevTsa, openssl_tsa: OpenSslTsa) -> None:
    config = TsaConfig(name="dev", url=dev_tsa.url, ca_file=openssl_tsa.root_pem)
    with pytest.raises(TimestampError) as e:
        TsaClient(config).stamp(ROOT)
    assert e.value.detail.startswith(
        "TSA dev: token is intact but untrusted: expected a path to one of the given roots"
    )
    assert "stops at 'CN=PromptStamp development TSA - UNTRUSTED root,O=PromptStamp'" in e.value.detail


def test_rejection_is_refused_with_its_status(openssl_tsa: OpenSslTsa) -> None:
    config = TsaConfig(name="openssl", url=openssl_tsa.url_reject, ca_file=openssl_tsa.root_pem)
    with pytest.raises(TimestampError) as e:
        TsaClient(config).stamp(ROOT)
    assert e.value.detail.startswith("TSA openssl: response failed the status check: expected PKIStatus granted")
    assert "PKIStatus 2 (rejection)" in e.value.detail
    assert "failInfo bad_alg" in e.value.detail


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = TsaConfig(name="gone", url=f"http://127.0.0.1:{port}/", ca_file=None)
    with pytest.raises(TimestampError) as e:
        TsaClient(config).stamp(ROOT)
    assert e.value.detail == f"TSA gone: cannot connect to http://127.0.0.1:{port}/: [Errno 111] Connection refused"


def test_timeout(dev_tsa: DevTsa) -> None:
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        with pytest.raises(TimestampError) as e:
            client_for(url, dev_tsa, timeout=0.3).stamp(ROOT)
    assert e.value.detail == f"TSA liar: no answer from {url} within 0.3 s"


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (500, b"boom", "expected HTTP 200 from {url}, found 500 Internal Server Error"),
        (302, b"", "expected HTTP 200 from {url}, found 302 Found"),
        (200, b"", "empty response from {url}"),
        (200, b"<html>Bad Gateway</html>", "response failed the structure check"),
        (200, b"\x30" * (MAX_RESPONSE_BYTES + 10), "response from {url} exceeds 1048576 bytes"),
    ],
    ids=["http-500", "redirect", "empty", "html", "oversized"],
)
def test_broken_answers(dev_tsa: DevTsa, code: int, body: bytes, message: str) -> None:
    with serving(lambda q: (code, body)) as url:
        with pytest.raises(TimestampError) as e:
            client_for(url, dev_tsa).stamp(ROOT)
    assert e.value.detail.startswith("TSA liar: ")
    assert message.format(url=url) in e.value.detail


def test_digest_must_be_sha256(dev_tsa: DevTsa) -> None:
    with pytest.raises(ValueError):
        TsaClient(dev_tsa.tsa_config()).stamp(b"\x00" * 20)


def test_missing_or_bad_ca_file(tmp_path: Path, dev_tsa: DevTsa) -> None:
    with pytest.raises(ConfigError) as e:
        TsaClient(TsaConfig(name="x", url=dev_tsa.url, ca_file=tmp_path / "missing.pem"))
    assert e.value.detail.startswith(f"TSA x: cannot read CA file {tmp_path / 'missing.pem'}")
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(ConfigError):
        TsaClient(TsaConfig(name="x", url=dev_tsa.url, ca_file=tmp_path / "junk.pem"))


def test_ca_file_with_a_chain_trusts_only_its_root(openssl_tsa: OpenSslTsa) -> None:
    roots, intermediates = load_trust(openssl_tsa.chain_pem)  # intermediate + root
    assert [certificate_subject(r) for r in roots] == ["O=Local Test,CN=Test TSA Root CA"]
    assert [certificate_subject(i) for i in intermediates] == ["O=Local Test,CN=Test TSA Intermediate CA"]
    # a file holding only an intermediate is trusted as given (a partial chain the operator chose)
    assert load_trust(openssl_tsa.inter_pem) == (intermediates, [])
    # a TSA embedding only its own certificate: the intermediate comes from the CA file
    config = TsaConfig(name="openssl", url=openssl_tsa.url + "tsa_rsa_leafonly", ca_file=openssl_tsa.chain_pem)
    stamped = TsaClient(config).stamp(ROOT)
    assert len(stamped.info.certificates) == 1
    with pytest.raises(TimestampError, match="an issuer whose certificate was not supplied"):
        TsaClient(openssl_tsa.config("openssl", "tsa_rsa_leafonly")).stamp(ROOT)


@pytest.mark.skipif(not SYSTEM_CA_BUNDLE.exists(), reason="no system CA bundle on this machine")
def test_without_ca_file_the_system_roots_are_used(dev_tsa: DevTsa) -> None:
    client = TsaClient(TsaConfig(name="dev", url=dev_tsa.url))
    assert len(client.roots) > 50
    with pytest.raises(TimestampError) as e:
        client.stamp(ROOT)  # the dev root is, rightly, in no system bundle
    assert f"expected a path to one of the {len(client.roots)} given roots" in e.value.detail
