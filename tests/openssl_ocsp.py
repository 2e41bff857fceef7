"""A TSA certificate with an OCSP responder: a throw-away PKI (root CA -> TSA leaf whose
authorityInfoAccess names the responder, and a designated OCSP signing certificate) and OpenSSL's own
responder (``openssl ocsp -index``) answering from an index where the leaf is valid or revoked."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openssl_tsa import _handler, _Server

EXT = """
[root_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[tsa_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
authorityInfoAccess = OCSP;URI:{ocsp_url}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ocsp_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,OCSPSigning
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class OcspPki:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def der(self, name: str) -> bytes:
        out = subprocess.run(["openssl", "x509", "-in", str(self.directory / f"{name}.pem"), "-outform", "DER"],
                             check=True, capture_output=True, timeout=30)
        return out.stdout

    def serial(self, name: str) -> str:
        out = subprocess.run(["openssl", "x509", "-in", str(self.directory / f"{name}.pem"), "-noout", "-serial"],
                             check=True, capture_output=True, text=True, timeout=30)
        return out.stdout.strip().split("=", 1)[1]

    def write_index(self, revoked_at: str | None = None, reason: str = "keyCompromise") -> None:
        """The responder's view of the TSA leaf: valid, or revoked at ``revoked_at`` (YYMMDDHHMMSSZ)."""
        status, when = ("V", "") if revoked_at is None else ("R", f"{revoked_at},{reason}")
        subject = "/CN=OCSP Test TSA/O=Local Test"
        line = "\t".join([status, "351231235959Z", when, self.serial("tsa"), "unknown", subject])
        (self.directory / "index.txt").write_text(line + "\n")


def make_pki(directory: Path, *, tsa_days: int = 1825, name: str = "OCSP Test") -> OcspPki:
    """``tsa_days``: how long the TSA leaf is valid from now (a short one expires within a test's future)."""
    directory.mkdir(parents=True)
    pki = OcspPki(directory, free_port())
    (directory / "ext.cnf").write_text(EXT.format(ocsp_url=pki.url))
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    run("req", "-x509", "-new", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
        "-subj", f"/CN={name} Root/O=Local Test", "-extensions", "root_ext", "-config", "ext.cnf",
        cwd=directory)
    for cert, subject, ext, days in (("tsa", f"/CN={name} TSA/O=Local Test", "tsa_ext", tsa_days),
                                     ("responder", f"/CN={name} Responder/O=Local Test", "ocsp_ext", 1825)):
        run("req", "-new", *ec, "-keyout", f"{cert}.key", "-out", f"{cert}.csr", "-subj", subject, cwd=directory)
        run("x509", "-req", "-in", f"{cert}.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
            "-out", f"{cert}.pem", "-days", str(days), "-extfile", "ext.cnf", "-extensions", ext, cwd=directory)
    pki.write_index()
    return pki


@contextmanager
def ocsp_responder(pki: OcspPki) -> Iterator[None]:
    """``openssl ocsp`` serving the index as it is now (start a new one after changing it)."""
    log = pki.directory / f"responder-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["openssl", "ocsp", "-index", "index.txt", "-port", str(pki.port), "-rsigner", "responder.pem",
             "-rkey", "responder.key", "-CA", "root.pem", "-nmin", "60"],
            cwd=pki.directory, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Ready once it says so: a probing connection without a request would stall the one-at-a-time
        # responder for good.
        deadline = time.monotonic() + 20
        while b"waiting for OCSP client connections" not in log.read_bytes():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"openssl ocsp did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


TS_CONFIG = """
[ tsa ]
default_tsa = tsa_ec
[ tsa_ec ]
dir              = {dir}
serial           = $dir/tsaserial
crypto_device    = builtin
signer_cert      = $dir/tsa.pem
certs            = $dir/root.pem
signer_key       = $dir/tsa.key
signer_digest    = sha256
default_policy   = 1.3.6.1.4.1.99999.1.1
digests          = sha256
accuracy         = secs:1
clock_precision_digits = 3
ordering         = no
tsa_name         = yes
ess_cert_id_alg  = sha256
"""


@contextmanager
def ocsp_tsa(pki: OcspPki) -> Iterator[str]:
    """An OpenSSL TSA signing with the PKI's leaf (``openssl ts -reply`` behind HTTP); yields its URL."""
    config = pki.directory / "tsa.cnf"
    config.write_text(TS_CONFIG.format(dir=pki.directory))
    (pki.directory / "tsaserial").write_text("01\n")
    server = _Server(("127.0.0.1", 0), _handler(config))
    thread = threading.Thread(target=server.serve_forever, name="ocsp-tsa", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa_ec"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
