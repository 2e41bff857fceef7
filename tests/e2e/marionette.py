"""A minimal Marionette client: Firefox's own remote protocol, which geckodriver merely translates to.

geckodriver is not packaged by Debian and Playwright drives only its own patched Firefox builds, so
the Firefox end-to-end test talks to the distribution's firefox-esr directly. The protocol
(Firefox source, remote/marionette/server.sys.mjs and driver.sys.mjs): a TCP stream of
``<length>:<json>`` packets; the server greets first; a command is ``[0, id, name, params]`` and its
answer ``[1, id, error, result]``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FIREFOX = Path("/usr/bin/firefox-esr")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element reference key
# No first-run pages, prompts, telemetry or updates in a test's fresh profile.
QUIET = {"browser.shell.checkDefaultBrowser": False, "browser.aboutwelcome.enabled": False,
         "datareporting.policy.dataSubmissionEnabled": False, "app.update.disabledForTesting": True}


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
        self._buffer = b""
        self._id = 0
        hello = self._receive()
        if not isinstance(hello, dict) or hello.get("marionetteProtocol") != 3:
            raise MarionetteError(f"expected Marionette protocol 3, the server said {hello!r}")

    def _receive(self) -> Any:
        while b":" not in self._buffer:
            self._read()
        length, _, rest = self._buffer.partition(b":")
        size = int(length)
        self._buffer = rest
        while len(self._buffer) < size:
            self._read()
        packet, self._buffer = self._buffer[:size], self._buffer[size:]
        return json.loads(packet)

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise MarionetteError("Firefox closed the Marionette connection")
        self._buffer += chunk

    def command(self, name: str, params: dict[str, Any] | None = None) -> Any:
        self._id += 1
        body = json.dumps([0, self._id, name, params or {}]).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body)
        while True:
            answer = self._receive()
            if isinstance(answer, list) and len(answer) == 4 and answer[0] == 1 and answer[1] == self._id:
                break
        _, _, error, result = answer
        if error:
            raise MarionetteError(f"{name}: {error.get('error')}: {error.get('message')}")
        return result.get("value", result) if isinstance(result, dict) else result

    def script(self, source: str, *args: Any) -> Any:
        """Run a function body in the current context; a returned promise is awaited (WebDriver)."""
        return self.command("WebDriver:ExecuteScript", {"script": source, "args": list(args)})

    def open_tab(self, url: str) -> str:
        """Open ``url`` in a new tab as the browser itself would (add-on pages refuse WebDriver
        navigation from web content) and make it the current window; returns its handle."""
        before = set(self.command("WebDriver:GetWindowHandles"))
        self.command("Marionette:SetContext", {"value": "chrome"})
        try:
            self.script("const tab = gBrowser.addTab(arguments[0], "
                        "{triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()}); "
                        "gBrowser.selectedTab = tab; return true;", url)
        finally:
            self.command("Marionette:SetContext", {"value": "content"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = set(self.command("WebDriver:GetWindowHandles")) - before
            if new:
                handle = new.pop()
                self.command("WebDriver:SwitchToWindow", {"handle": handle})
                return str(handle)
            time.sleep(0.1)
        raise MarionetteError(f"no new tab appeared for {url}")

    def grant_origins(self, addon_id: str, origins: list[str]) -> None:
        """Grant an add-on host permissions, as its Permissions tab in about:addons does (Firefox asks
        the user for a Manifest V3 add-on's host permissions; a temporary install is not asked)."""
        self.command("Marionette:SetContext", {"value": "chrome"})
        try:
            self.script("const { ExtensionPermissions } = ChromeUtils.importESModule("
                        "'resource://gre/modules/ExtensionPermissions.sys.mjs'); "
                        "return ExtensionPermissions.add(arguments[0], {permissions: [], origins: arguments[1]})"
                        ".then(() => true);", addon_id, origins)
        finally:
            self.command("Marionette:SetContext", {"value": "content"})

    def close(self) -> None:
        try:
            self.command("WebDriver:DeleteSession")
        except (OSError, MarionetteError):
            pass
        self.sock.close()


def start_firefox(profile: Path, port: int, prefs: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Headless firefox-esr on a fresh profile whose user.js holds ``prefs`` and the Marionette port."""
    profile.mkdir(parents=True, exist_ok=True)
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in {**prefs, "marionette.port": port}.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "MOZ_HEADLESS": "1"}
    # System access: only the browser's own chrome may open an add-on's pages (open_extension_page).
    return subprocess.Popen([str(FIREFOX), "--headless", "--marionette", "-remote-allow-system-access", "--no-remote",
                             "--profile", str(profile)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def firefox_session(profile: Path, port: int, prefs: dict[str, Any],
                    capabilities: dict[str, Any] | None = None) -> Iterator[Marionette]:
    """A WebDriver session in a headless firefox-esr on a fresh, quiet profile with ``prefs``; Firefox is
    stopped when the block ends (the callers say, as a usage error, when there is no Firefox)."""
    process = start_firefox(profile, port, {**QUIET, **prefs})
    try:
        m = Marionette(port)
        m.command("WebDriver:NewSession", capabilities or {})
        yield m
        m.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
