"""What a new user meets first: start-up failures that say what to change, the TSA check at start-up,
the command line's help, its key and account listings, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptstamp.cli import main
from promptstamp.config import Settings
from promptstamp.services import build_services

PROMPTSTAMP = [str(Path(sys.executable).parent / "promptstamp")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(data: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMPTSTAMP_DATA": str(data), "PROMPTSTAMP_PORT": str(port),
           "PROMPTSTAMP_LOG_FORMAT": "text"}
    return subprocess.Popen([*PROMPTSTAMP, "serve", "--workers", "1", "--threads", "4", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_serve_on_a_taken_port_fails_at_once_naming_the_setting(tmp_path: Path,
                                                                stop: list[subprocess.Popen[str]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path / "data", port)
        stop.append(proc)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in out
    assert "PROMPTSTAMP_PORT" in out
    assert "listening" not in out
    assert "Traceback" not in out


def test_serve_with_a_data_path_that_is_a_file_fails_naming_the_setting(tmp_path: Path,
                                                                        stop: list[subprocess.Popen[str]]) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file where the data directory should be")
    proc = _serve(not_a_dir, _free_port())
    stop.append(proc)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "PROMPTSTAMP_DATA" in out and str(not_a_dir) in out
    assert "Traceback" not in out


def test_start_up_checks_every_tsa_and_reports_an_unreachable_one(tmp_path: Path,
                                                                  stop: list[subprocess.Popen[str]]) -> None:
    port = _free_port()
    dead = _free_port()  # nothing listens there
    ca = tmp_path / "ca.pem"
    ca.write_bytes((Path(__file__).parents[1] / "assets" / "real-tsa" / "digicert-2025" / "embedded-certs.pem")
                   .read_bytes())
    proc = _serve(tmp_path / "data", port, "--tsa", f"down=http://127.0.0.1:{dead}/|{ca}")
    stop.append(proc)
    health = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                health = json.loads(r.read())
                break
        except OSError:
            time.sleep(0.5)
    assert health is not None, "the service did not come up"
    [check] = health["tsa_startup_checks"]
    assert check["name"] == "down" and check["ok"] is False
    assert check["detail"]
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert "TSA down" in out and "did not answer at start-up" in out and "PROMPTSTAMP_TSA" in out


def test_keys_pem_prints_the_current_service_key_that_verifiers_take(tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = build_services(Settings(data_dir=data), recover=False, upkeep=False)
    try:
        expected = services.keyring.signing_key.public.pem
        key_id = services.keyring.signing_key.id
    finally:
        services.close()
    runner = CliRunner()
    done = runner.invoke(main, ["keys", "--data", str(data), "--pem"])
    assert done.exit_code == 0, done.output
    assert done.output == expected and done.output.startswith("-----BEGIN PUBLIC KEY-----")
    by_id = runner.invoke(main, ["keys", "--data", str(data), "--pem", key_id])
    assert by_id.output == expected
    unknown = runner.invoke(main, ["keys", "--data", str(data), "--pem", "0123456789abcdef"])
    assert unknown.exit_code == 1
    assert "no service key '0123456789abcdef'" in unknown.output and key_id in unknown.output


def test_export_without_account_lists_the_accounts_to_choose_from(tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = build_services(Settings(data_dir=data), recover=False, upkeep=False)
    try:
        alice, _ = services.accounts.create("alice")
        bob, _ = services.accounts.create("bob")
    finally:
        services.close()
    done = CliRunner().invoke(main, ["export", "--data", str(data), "--session", "chatgpt/x",
                                     "--out", str(tmp_path / "e.asice")])
    assert done.exit_code == 1
    assert "the store holds 2 accounts" in done.output
    for account in (alice, bob):
        assert f"--account {account.id}" in done.output and account.name in done.output


def _commands(group: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    import click

    assert isinstance(group, click.Command)
    yield path
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))


def test_every_command_help_has_an_example() -> None:
    runner = CliRunner()
    paths = list(_commands(main))
    assert len(paths) >= 10
    for path in paths:
        done = runner.invoke(main, [*path, "--help"])
        assert done.exit_code == 0, (path, done.output)
        assert "Example" in done.output, f"'promptstamp {' '.join(path)} --help' shows no example"


def test_an_unreadable_key_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    key_dir = tmp_path / "key-is-a-directory"
    key_dir.mkdir()
    done = CliRunner().invoke(main, ["keys", "--data", str(tmp_path / "data"), "--key-file", str(key_dir)])
    assert done.exit_code == 1
    assert done.output.startswith("error: ")
    assert "Traceback" not in done.output and done.exception is None or isinstance(done.exception, SystemExit)
