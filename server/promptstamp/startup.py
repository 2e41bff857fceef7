"""Checks ``promptstamp serve`` runs before it starts workers, each failing with what to change.

A port already taken, a data directory that cannot be written, a key file that cannot be read: each
stops start-up with one line that names the setting to change, instead of a listening banner
followed by a stream of worker errors. A TSA that does not answer does not stop start-up (records
are still accepted, as ``pending``, and stamped when it answers), but it is reported in the log and
in ``/healthz`` with the error and the setting to check.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import ConfigError, PromptStampError
from .timestamping import TsaClient


@dataclass(frozen=True)
class TsaCheck:
    """The outcome of one test time-stamp request made at start-up."""

    name: str
    url: str
    ok: bool
    checked_at: str
    millis: int
    detail: str  # the token's genTime when it answered, else the error

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "url": self.url, "ok": self.ok, "checked_at": self.checked_at,
                "ms": self.millis, "detail": self.detail}


def check_port(host: str, port: int) -> None:
    """Fail now, with the setting to change, if the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # The same option gunicorn sets, so a socket in TIME_WAIT does not count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use (is another PromptStamp running?): "
                    f"choose another with --port or PROMPTSTAMP_PORT, e.g. PROMPTSTAMP_PORT={port + 1}") from e
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}; "
                              "change --host/PROMPTSTAMP_HOST or --port/PROMPTSTAMP_PORT") from e


def check_data_dir(data_dir: Path) -> None:
    """The data directory must exist (it is created) and be writable: keys and the embedded store live there."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the data directory {data_dir}: {e.strerror or e}; "
                          "choose another with --data or PROMPTSTAMP_DATA") from e
    if not data_dir.is_dir():
        raise ConfigError(f"the data directory {data_dir} is not a directory; "
                          "choose another with --data or PROMPTSTAMP_DATA")
    if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(f"the data directory {data_dir} is not readable and writable by this user "
                          f"(uid {os.getuid()}); fix its permissions or choose another with --data or "
                          "PROMPTSTAMP_DATA")


def check_tsas(settings: Settings) -> list[TsaCheck]:
    """Ask each configured TSA for one token over a random digest; never raises."""
    results = []
    for config in settings.tsas:
        started = time.monotonic()
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            stamped = TsaClient(config).stamp(secrets.token_bytes(32))
            ok, detail = True, f"answered, genTime {stamped.info.gen_time.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        except PromptStampError as e:
            ok, detail = False, e.detail
        results.append(TsaCheck(config.name, config.url, ok, at, round((time.monotonic() - started) * 1000), detail))
    return results
