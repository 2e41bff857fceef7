"""The built-in development TSA: a small, real RFC 3161 responder, labelled UNTRUSTED everywhere.

It lets ``promptstamp serve`` work with nothing else installed, and gives tests a TSA we control. Its
root is generated on this machine, so its tokens prove nothing to anyone else: the certificate
subjects and the TSA name say "PromptStamp development TSA - UNTRUSTED", and the config marks it
``untrusted``.

What it issues (RFC 3161 §2.4.2, RFC 5816): a TimeStampResp whose token is a CMS SignedData over a
TSTInfo with policy ``POLICY_OID``, a random 128-bit serial number, genTime in UTC with milliseconds,
accuracy 1 s, the request's nonce echoed, TSTInfo.tsa = the signer's subject, and the signed attributes
contentType, messageDigest and signingCertificateV2 (ESSCertIDv2, SHA-256, with issuer and serial).
With certReq the leaf and the root are embedded. Requests are rejected (PKIStatus 2) with failInfo
badDataFormat (undecodable query, wrong imprint length), badRequest (version), badAlg (imprint hash not
SHA-256/384/512), unacceptedPolicy (reqPolicy not ours) or unacceptedExtension (any extension).

Keys: ECDSA P-256 by default (RSA-3072 on request); the files in the directory are ``root.key``,
``root.pem``, ``tsa.key``, ``tsa.pem`` (keys 0600). The leaf is re-issued from the root when it expires.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .config import TsaConfig
from .tokens import DEV_TSA_LABEL, DEV_TSA_POLICY
from .tsa_tokens import KeyType as KeyType
from .tsa_tokens import PrivateKey as PrivateKey
from .tsa_tokens import _der as _der
from .tsa_tokens import _key_pem as _key_pem
from .tsa_tokens import _load_key as _load_key
from .tsa_tokens import _new_key as _new_key
from .tsa_tokens import _Rejection
from .tsa_tokens import _TimeStampResp as _TimeStampResp  # tests/assets/tokens builds odd answers with it
from .tsa_tokens import ess_signing_certificate_v2 as ess_signing_certificate_v2
from .tsa_tokens import granted_response as granted_response
from .tsa_tokens import make_root as make_root
from .tsa_tokens import make_tsa_cert as make_tsa_cert
from .tsa_tokens import rejection_response as rejection_response
from .tsa_tokens import sign_bytes as sign_bytes
from .tsa_tokens import signature_params as signature_params
from .tsa_tokens import signed_attributes as signed_attributes
from .tsa_tokens import signed_token as signed_token

log = logging.getLogger(__name__)

LABEL = DEV_TSA_LABEL
# An X.667 UUID-derived OID, defined in certs.py because every verifier checks for it.
POLICY_OID = DEV_TSA_POLICY
ACCEPTED_HASHES = {"sha256": 32, "sha384": 48, "sha512": 64}
MAX_QUERY_BYTES = 64 * 1024

def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically (temp file + rename) with ``mode`` from the start: keys are never world-readable."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive lock so that several workers starting at once create one PKI, not one each."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- the TSA --------------------------------------------------------------------------------------


class DevTsa:
    """An RFC 3161 responder around one signing key and certificate; thread-safe (no shared mutable state)."""

    def __init__(
        self,
        key: PrivateKey,
        cert: x509.Certificate,
        root: x509.Certificate,
        *,
        chain: Sequence[x509.Certificate] = (),
        policy: str = POLICY_OID,
        pss: bool = False,
        directory: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._key = key
        self._cert_der = _der(cert)
        self._root_der = _der(root)
        self._embed = (self._cert_der, *(_der(c) for c in chain), self._root_der)
        self._pss = pss
        self._clock = clock or (lambda: datetime.now(UTC))
        self.policy = policy
        self.directory = directory
        self._tsa_name = asn1_x509.GeneralName(
            name="directory_name", value=asn1_x509.Certificate.load(self._cert_der).subject
        )
        self._server: ThreadingHTTPServer | None = None

    @classmethod
    def load_or_create(cls, directory: Path, *, key_type: KeyType = "ec") -> DevTsa:
        """Reuse the PKI in ``directory``, or create it on first use (root, then a TSA leaf under it)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        root_key_path, root_path = directory / "root.key", directory / "root.pem"
        tsa_key_path, tsa_path = directory / "tsa.key", directory / "tsa.pem"
        with _locked(directory / ".devtsa.lock"):
            if root_key_path.exists() and root_path.exists():
                root_key = _load_key(root_key_path)
                root = x509.load_pem_x509_certificate(root_path.read_bytes())
            else:
                root_key = _new_key(key_type)
                root = make_root(root_key, f"{LABEL} root")
                _write(root_key_path, _key_pem(root_key), 0o600)
                _write(root_path, root.public_bytes(serialization.Encoding.PEM), 0o644)
            tsa_cert: x509.Certificate | None = None
            if tsa_key_path.exists() and tsa_path.exists():
                tsa_key = _load_key(tsa_key_path)
                tsa_cert = x509.load_pem_x509_certificate(tsa_path.read_bytes())
                fresh = tsa_cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1)
                if not fresh or tsa_cert.issuer != root.subject:
                    log.info(
                        "dev TSA: certificate in %s expired or not issued by the root; issuing a new one", directory
                    )
                    tsa_cert = None
            if tsa_cert is None:
                tsa_key = _new_key(key_type)
                tsa_cert = make_tsa_cert(tsa_key, root, root_key, LABEL)
                _write(tsa_key_path, _key_pem(tsa_key), 0o600)
                _write(tsa_path, tsa_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(tsa_key, tsa_cert, root, directory=directory)

    # -- certificates

    @property
    def root_der(self) -> bytes:
        return self._root_der

    @property
    def root_pem(self) -> str:
        return x509.load_der_x509_certificate(self._root_der).public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def chain_der(self) -> tuple[bytes, ...]:
        """The certificates embedded on certReq: signer first, root last."""
        return self._embed

    @property
    def chain_pem(self) -> str:
        pems = (x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM) for d in self._embed)
        return b"".join(pems).decode("ascii")

    @property
    def ca_file(self) -> Path | None:
        return self.directory / "root.pem" if self.directory is not None else None

    # -- RFC 3161

    def respond(self, query_der: bytes) -> bytes:
        """TimeStampReq DER -> TimeStampResp DER: granted with a token, or a rejection with failInfo."""
        try:
            req = self._check_request(query_der)
        except _Rejection as r:
            return rejection_response(r.fail_info, r.text)
        return granted_response(self.token_for(req))

    def _check_request(self, query_der: bytes) -> tsp.TimeStampReq:
        try:
            req = tsp.TimeStampReq.load(query_der, strict=True)
            req.native  # noqa: B018  (asn1crypto parses lazily; surface errors here)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
            raise _Rejection("bad_data_format", f"malformed TimeStampReq: {e}") from e
        if int(req["version"]) != 1:
            raise _Rejection("bad_request", f"expected TimeStampReq version 1, found {int(req['version'])}")
        imprint = req["message_imprint"]
        alg = imprint["hash_algorithm"]["algorithm"]
        if alg.native not in ACCEPTED_HASHES:
            raise _Rejection("bad_alg", f"unsupported hash algorithm {alg.native}; use sha256, sha384 or sha512")
        size = ACCEPTED_HASHES[alg.native]
        if len(imprint["hashed_message"].native) != size:
            raise _Rejection(
                "bad_data_format",
                f"a {alg.native} imprint has {size} bytes, found {len(imprint['hashed_message'].native)}",
            )
        if req["req_policy"].native is not None and req["req_policy"].dotted != self.policy:
            raise _Rejection("unaccepted_policy", f"this TSA issues policy {self.policy} only")
        if req["extensions"].native:
            raise _Rejection("unaccepted_extensions", "this TSA accepts no request extensions")
        return req

    def token_for(self, req: tsp.TimeStampReq) -> bytes:
        now = self._clock().astimezone(UTC)
        tst = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(128) or 1,  # unique without shared state (RFC 3161 §2.4.2)
            "gen_time": now.replace(microsecond=now.microsecond // 1000 * 1000),
            "accuracy": {"seconds": 1},
            "tsa": self._tsa_name,
        }
        if req["nonce"].native is not None:
            tst["nonce"] = req["nonce"].native
        tst_der = tsp.TSTInfo(tst).dump()
        embed = self._embed if req["cert_req"].native else ()
        return signed_token(tst_der, self._key, self._cert_der, embed, pss=self._pss)

    # -- HTTP

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
        """Answer RFC 3161 over HTTP (RFC 3161 §3.4) in a daemon thread; ``port=0`` picks a free port."""
        if self._server is not None:
            raise RuntimeError(f"dev TSA already serving at {self.url}")
        server = _Server((host, port), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, name="devtsa-http", daemon=True)
        thread.start()
        self._server = server
        return server, thread

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("dev TSA is not serving; call serve() first")
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def tsa_config(self, name: str = "devtsa", *, timeout: float = 10.0) -> TsaConfig:
        """A config for ``TsaClient`` pointing at this running TSA, marked untrusted."""
        if self.ca_file is None:
            raise RuntimeError("dev TSA has no directory, so no root file for a TsaConfig")
        return TsaConfig(name=name, url=self.url, ca_file=self.ca_file, timeout=timeout, untrusted=True)

    def info_page(self) -> str:
        return (
            f"{LABEL}\n\n"
            "This is PromptStamp's built-in RFC 3161 time-stamping authority for development and tests.\n"
            "Its root certificate was generated on this machine: its tokens prove nothing to anyone else.\n"
            "Use a public or qualified TSA for evidence.\n\n"
            "POST a TimeStampReq (Content-Type: application/timestamp-query) to this URL.\n"
            f"Root certificate (PEM): {self.url}root.pem\n"
            f"Policy OID: {self.policy}\n"
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default listen backlog of 5 resets bursts of concurrent batches


def _handler_for(tsa: DevTsa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "PromptStampDevTSA/1"

        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            if self.path == "/":
                self._send(200, "text/plain; charset=utf-8", tsa.info_page().encode())
            elif self.path == "/root.pem":
                self._send(200, "application/x-pem-file", tsa.root_pem.encode("ascii"))
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: POST time-stamp queries to /\n")

        def do_POST(self) -> None:  # noqa: N802
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/timestamp-query":
                self._send(415, "text/plain; charset=utf-8", b"expected Content-Type application/timestamp-query\n")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(411, "text/plain; charset=utf-8", b"Content-Length required\n")
                return
            if not 0 < length <= MAX_QUERY_BYTES:
                self._send(413, "text/plain; charset=utf-8", f"query must be 1..{MAX_QUERY_BYTES} bytes\n".encode())
                return
            query = self.rfile.read(length)
            try:
                body = tsa.respond(query)
            except Exception:  # a bug or a broken key: answer 500 and log it, keep serving
                log.exception("dev TSA: cannot answer a time-stamp query")
                self._send(500, "text/plain; charset=utf-8", b"internal error\n")
                return
            self._send(200, "application/timestamp-reply", body)

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("dev TSA %s: " + format, self.address_string(), *args)

    return Handler
