"""The S3 store's signed PUTs (``storage/s3_put``) under faults, against real SeaweedFS behind a proxy that
can refuse a PUT (503 SlowDown) or pass it on and lose the reply: what is retried, what a lost reply turns
into, and what an unreachable server gives."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from promptstamp.errors import AlreadyExists, StorageError
from promptstamp.storage.s3 import S3Store
from seaweed import SeaweedFS

pytestmark = pytest.mark.s3


class FaultyProxy:
    """Forwards every request to SeaweedFS, except that each PUT of a key containing ``target`` takes the
    next scripted fault: "refuse" answers 503 SlowDown without passing it on, "lose" passes it on and then
    closes the connection without answering."""

    def __init__(self, upstream: str) -> None:
        self.faults: list[str] = []
        self.target = "\0"
        self.puts_seen = 0
        proxy = self
        up = urlsplit(upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = ""
                if self.command == "PUT" and proxy.target in self.path:
                    proxy.puts_seen += 1
                    fault = proxy.faults.pop(0) if proxy.faults else ""
                if fault == "refuse":
                    self._answer(503, {"Content-Type": "application/xml"},
                                 b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")
                    return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():  # Host included: it is signed
                    conn.putheader(name, value)
                conn.endheaders(body)
                reply = conn.getresponse()
                data = reply.read()
                conn.close()
                if fault == "lose":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                headers = {k: v for k, v in reply.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
                self._answer(reply.status, headers, data)

            def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy(seaweedfs: SeaweedFS) -> Iterator[FaultyProxy]:
    p = FaultyProxy(seaweedfs.endpoint)
    yield p
    p.close()


@pytest.fixture(scope="module")
def bucket(make_bucket: Any) -> str:
    return str(make_bucket(False))


def _store(endpoint: str, server: SeaweedFS, bucket: str, prefix: str) -> S3Store:
    return S3Store(bucket, prefix=prefix, endpoint=endpoint, region=server.region,
                   access_key=server.access_key, secret_key=server.secret_key, conditional_put=True)


def test_a_refused_put_is_asked_again_and_both_requests_are_counted(
        proxy: FaultyProxy, seaweedfs: SeaweedFS, bucket: str) -> None:
    store = _store(proxy.endpoint, seaweedfs, bucket, "refused")
    proxy.target, proxy.faults = "refused/", ["refuse"]
    store.put("records/a.json", b"evidence")
    assert proxy.puts_seen == 2
    assert store.request_counts["put"] == 2
    assert store.get("records/a.json") == b"evidence"


def test_a_put_whose_reply_was_lost_is_recognised_as_ours_not_as_taken(
        proxy: FaultyProxy, seaweedfs: SeaweedFS, bucket: str) -> None:
    store = _store(proxy.endpoint, seaweedfs, bucket, "lost")
    proxy.target, proxy.faults = "lost/", ["lose"]
    store.put("records/a.json", b"evidence")  # the retry meets 412: the object holds our bytes, so it is ours
    assert proxy.puts_seen == 2
    assert store.request_counts["head"] == 1
    assert store.get("records/a.json") == b"evidence"
    with pytest.raises(AlreadyExists):  # a later PUT of the key is still refused
        store.put("records/a.json", b"evidence")


def test_a_lost_reply_over_another_writers_object_is_still_taken(
        proxy: FaultyProxy, seaweedfs: SeaweedFS, bucket: str) -> None:
    direct = _store(seaweedfs.endpoint, seaweedfs, bucket, "raced")
    direct.put("records/a.json", b"the first writer's bytes")
    store = _store(proxy.endpoint, seaweedfs, bucket, "raced")
    proxy.target, proxy.faults = "raced/", ["lose"]
    with pytest.raises(AlreadyExists):
        store.put("records/a.json", b"other bytes")
    assert direct.get("records/a.json") == b"the first writer's bytes"


def test_a_put_refused_on_every_attempt_is_a_storage_error_naming_the_code(
        proxy: FaultyProxy, seaweedfs: SeaweedFS, bucket: str) -> None:
    store = _store(proxy.endpoint, seaweedfs, bucket, "slow")
    proxy.target, proxy.faults = "slow/", ["refuse"] * 4
    with pytest.raises(StorageError, match="SlowDown"):
        store.put("records/a.json", b"evidence")
    assert proxy.puts_seen == 4
    with pytest.raises(StorageError, match="not found"):
        store.get("records/a.json")


def test_an_unreachable_server_is_a_storage_error_after_the_retries(
        proxy: FaultyProxy, seaweedfs: SeaweedFS, bucket: str) -> None:
    store = _store(proxy.endpoint, seaweedfs, bucket, "gone")
    proxy.close()
    with pytest.raises(StorageError, match="no answer after 4 attempts"):
        store.put("records/a.json", b"evidence")
    assert store.request_counts["put"] == 4
