"""A real, independent RFC 3161 TSA for tests: ``openssl ts -reply`` behind a tiny threaded HTTP handler.

``running_openssl_tsa(directory)`` builds a throwaway PKI (root -> intermediate -> RSA and P-256 TSA
leaves, both with a critical timeStamping EKU) with ``assets/openssl-tsa/make-pki.sh`` and serves
POST application/timestamp-query on a free loopback port. The URL path selects the ``openssl ts``
config section (``assets/openssl-tsa/openssl-tsa.cnf``): ``/tsa_rsa``, ``/tsa_ec``, ``/tsa_rsa_leafonly``,
``/tsa_ec_leafonly`` and ``/tsa_sha512only`` (rejects SHA-256 queries with failInfo badAlg).
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from promptstamp.config import TsaConfig

RECIPES = Path(__file__).resolve().parent / "assets" / "openssl-tsa"
SECTIONS = ("tsa_rsa", "tsa_ec", "tsa_rsa_leafonly", "tsa_ec_leafonly", "tsa_sha512only")


@dataclass(frozen=True)
class OpenSslTsa:
    url: str  # base URL, ends with '/'
    directory: Path  # the PKI: keys, certificates, tsa.cnf
    root_pem: Path  # self-signed root: the trust anchor
    inter_pem: Path  # intermediate CA
    chain_pem: Path  # intermediate + root (what the TSA embeds on certReq)
    tsa_rsa_pem: Path  # RSA-2048 TSA leaf
    tsa_ec_pem: Path  # P-256 TSA leaf

    @property
    def url_rsa(self) -> str:
        return self.url + "tsa_rsa"

    @property
    def url_ec(self) -> str:
        return self.url + "tsa_ec"

    @property
    def url_reject(self) -> str:
        """A section that refuses SHA-256 imprints: every request from ``TsaClient`` is rejected."""
        return self.url + "tsa_sha512only"

    def config(self, name: str, section: str = "tsa_rsa", *, timeout: float = 10.0) -> TsaConfig:
        return TsaConfig(name=name, url=self.url + section, ca_file=self.root_pem, timeout=timeout)


def make_pki(directory: Path) -> None:
    subprocess.run(["bash", str(RECIPES / "make-pki.sh"), str(directory)], check=True, capture_output=True, timeout=120)


def reply(config: Path, section: str, query: bytes) -> bytes | None:
    """``openssl ts -reply`` for one query; None if OpenSSL wrote no response at all."""
    with tempfile.TemporaryDirectory() as td:
        q, r = Path(td, "q.tsq"), Path(td, "r.tsr")
        q.write_bytes(query)
        cmd = [
            "openssl",
            "ts",
            "-reply",
            "-config",
            str(config),
            "-section",
            section,
            "-queryfile",
            str(q),
            "-out",
            str(r),
        ]
        subprocess.run(cmd, capture_output=True, timeout=30)
        # openssl writes a rejection TimeStampResp (PKIStatus 2) for bad queries too
        return r.read_bytes() if r.exists() else None


def _handler(config: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # `openssl ts -reply` increments the serial file: one call at a time

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            section = self.path.strip("/") or "tsa_rsa"
            length = int(self.headers.get("Content-Length", "0"))
            if section not in SECTIONS or not 0 < length <= 65536:
                self.send_error(404 if section not in SECTIONS else 400)
                return
            query = self.rfile.read(length)
            with lock:
                body = reply(config, section, query)
            if body is None:
                self.send_error(500, "openssl ts -reply wrote no response")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent tests open many connections at once


@contextmanager
def running_openssl_tsa(directory: Path) -> Iterator[OpenSslTsa]:
    pki = directory / "pki"
    make_pki(pki)
    server = _Server(("127.0.0.1", 0), _handler(pki / "tsa.cnf"))
    thread = threading.Thread(target=server.serve_forever, name="openssl-tsa", daemon=True)
    thread.start()
    try:
        yield OpenSslTsa(
            url=f"http://127.0.0.1:{server.server_address[1]}/",
            directory=pki,
            root_pem=pki / "root.pem",
            inter_pem=pki / "inter.pem",
            chain_pem=pki / "chain.pem",
            tsa_rsa_pem=pki / "tsa.pem",
            tsa_ec_pem=pki / "tsa-ec.pem",
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
