"""End-to-end fixtures: the built extension in the distribution's Chromium (headless), the AI sites'
stand-ins over HTTPS under their real host names, and a real promptstamp service on a free port."""

from __future__ import annotations

import datetime
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import BaseWSGIServer, make_server

from .sites import FILES_HOST, create_sites_app
from .sites_deepseek import DEEPSEEK_HOST, register_deepseek
from .sites_doubao import DOUBAO_HOST, register_doubao
from .sites_gemini import GEMINI_HOST, GEMINI_IMAGE_HOST, register_gemini
from .sites_grok import GROK_ASSETS_HOST, GROK_HOST, register_grok
from .sites_kimi import KIMI_HOST, register_kimi
from .sites_midjourney import MIDJOURNEY_CDN_HOST, MIDJOURNEY_HOST, register_midjourney
from .sites_perplexity import PERPLEXITY_HOST, register_perplexity
from .sites_qwen import QWEN_HOST, register_qwen
from .ws_server import SOCKET_HOST, SocketHub

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension" / "test-build" / "chrome-e2e"
ARTIFACTS = ROOT / "test-artifacts"
SITE_HOSTS = ("chatgpt.com", "claude.ai", FILES_HOST, GEMINI_HOST, GEMINI_IMAGE_HOST, DEEPSEEK_HOST,
              MIDJOURNEY_HOST, MIDJOURNEY_CDN_HOST, QWEN_HOST, DOUBAO_HOST, GROK_HOST, GROK_ASSETS_HOST, KIMI_HOST,
              PERPLEXITY_HOST)

# WebSocket stand-ins on ports of their own (host -> port), set when the sites start.
SOCKET_PORTS: dict[str, int] = {}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A missing browser or extension fails the run loudly: skipping would turn "not tested" into green.
    e2e = [item for item in items if "tests/e2e" in str(item.path)]
    for item in e2e:
        item.add_marker(pytest.mark.browser)
    if e2e and not CHROMIUM.exists():
        raise pytest.UsageError(f"the browser tests need {CHROMIUM}; run them through 'make test' (or 'make chromium')")
    if e2e and not (EXTENSION / "manifest.json").exists():
        raise pytest.UsageError(f"the browser tests need the built extension at {EXTENSION}; run 'make extension'")


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promptstamp e2e sites")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in (*SITE_HOSTS, SOCKET_HOST)]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "sites.pem", directory / "sites.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Served:
    """A WSGI app on a thread; stop() and start() again on the same port (a server outage)."""

    def __init__(self, app: Any, port: int = 0, ssl: tuple[str, str] | None = None) -> None:
        self.app, self.port, self.ssl = app, port, ssl
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True, ssl_context=self.ssl)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture(scope="session")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    app = create_sites_app()
    register_gemini(app)
    register_deepseek(app)
    register_grok(app)
    register_perplexity(app)
    register_midjourney(app)
    register_qwen(app)
    register_doubao(app)
    register_kimi(app)
    hub = SocketHub(str(cert), str(key))  # ChatGPT's turn socket on its own port
    hub.start()
    SOCKET_PORTS[SOCKET_HOST] = hub.port
    app.extensions["chatgpt"].push = hub.broadcast
    served = Served(app, ssl=(str(cert), str(key)))
    served.start()
    yield served
    served.stop()
    hub.stop()


@dataclass
class Stamp:
    """A real promptstamp service (fs storage, built-in dev TSA) that a test can stop and restart."""

    data_dir: Path
    services: Any = None
    served: Served | None = None
    token: str = ""
    port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def session_records(self, site: str, session_id: str) -> list[dict[str, Any]]:
        """The session's records with their receipts, in chain order; none while the session is unknown."""
        import requests

        res = requests.get(f"{self.url}/v1/sessions/{site}/{session_id}",
                           headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        if res.status_code == 404:
            return []
        res.raise_for_status()
        return sorted(res.json()["records"], key=lambda r: int(r["record"]["seq"]))

    def start(self) -> None:
        from promptstamp.config import Settings
        from promptstamp.services import build_services
        from promptstamp.web import create_app

        self.services = build_services(Settings(data_dir=self.data_dir, batch_window_ms=20))
        if not self.token:
            _, self.token = self.services.accounts.create("e2e creator")
        self.served = Served(create_app(services=self.services), port=self.port)
        self.served.start()
        self.port = self.served.port

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None
        if self.services is not None:
            self.services.close()
            self.services = None

    def get(self, path: str) -> Any:
        import requests

        res = requests.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        res.raise_for_status()
        return res.json()


@pytest.fixture
def stamp(tmp_path: Path) -> Iterator[Stamp]:
    service = Stamp(data_dir=tmp_path / "stamp")
    service.start()
    yield service
    service.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Browser:
    context: Any
    extension_id: str
    worker: Any

    def ext_page(self, path: str) -> Any:
        page = self.context.new_page()
        page.goto(f"chrome-extension://{self.extension_id}/{path}")
        return page

    def tab_id(self, url_pattern: str) -> int:
        tab_id: int = self.worker.evaluate(
            "async (p) => (await chrome.tabs.query({url: p}))[0].id", url_pattern)
        return tab_id


def launch_browser(playwright: Any, profile: Path, sites_port: int) -> Browser:
    """Start Chromium with the built extension on a persistent profile (a second launch on the same
    profile is a browser restart: the extension's IndexedDB and storage are still there)."""
    rules = ", ".join([f"MAP {h} 127.0.0.1:{sites_port}" for h in SITE_HOSTS] +
                      [f"MAP {h} 127.0.0.1:{port}" for h, port in SOCKET_PORTS.items()])
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        ignore_default_args=["--disable-extensions"],
        args=[
            f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
            f"--host-resolver-rules={rules}", "--ignore-certificate-errors",
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
        ],
    )
    try:
        worker = context.service_workers[0] if context.service_workers else context.wait_for_event(
            "serviceworker", timeout=15000)
    except Exception:
        context.close()
        raise
    extension_id = worker.url.split("/")[2]
    return Browser(context, extension_id, worker)


@pytest.fixture
def browser(tmp_path: Path, sites: Served) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = launch_browser(p, tmp_path / "profile", sites.port)
        try:
            yield launched
        finally:
            launched.context.close()


@dataclass
class Relaunchable:
    """A browser on a profile directory that a test can close and start again (a browser restart)."""

    playwright: Any
    profile: Path
    sites_port: int
    current: Browser | None = None

    def start(self) -> Browser:
        self.current = launch_browser(self.playwright, self.profile, self.sites_port)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.context.close()
            self.current = None

    def restart(self) -> Browser:
        self.close()
        return self.start()


@pytest.fixture
def relaunchable(tmp_path: Path, sites: Served) -> Iterator[Relaunchable]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = Relaunchable(p, tmp_path / "profile", sites.port)
        try:
            yield browser
        finally:
            browser.close()
