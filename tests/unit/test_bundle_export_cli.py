"""``promptstamp export`` against a real data directory (fs store, built-in dev TSA), then ``promptstamp verify``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bundle_sample import sample_session
from promptstamp.cli_evidence import export_command, verify_command
from promptstamp.config import Settings
from promptstamp.services import build_services


def test_export_then_verify(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = build_services(Settings(data_dir=data_dir, batch_window_ms=20, retry_interval_s=3600),
                              recover=False, upkeep=False)
    try:
        account, _token = services.accounts.create("alice")
        base = sample_session(lambda d: {}, n_records=3, image_every=0).records
        values = [{**r.value, "client": {"app": "promptstamp-tests/1"}} for r in base]  # no device: unsigned
        session = sample_session(lambda d: {}, records_override=values)
        results, _ = services.ledger.ingest(account.id, [dict(r.value) for r in session.records])
        assert all(r.outcome.status == "stamped" for r in results)
        key_pem = services.keyring.public_key(services.keyring.entries()[0].to_json()["key"]).pem
    finally:
        services.close()
    out = tmp_path / "evidence.asice"
    runner = CliRunner()
    done = runner.invoke(export_command, ["--session", "chatgpt/sample-session-1", "--out", str(out),
                                          "--data", str(data_dir)])
    assert done.exit_code == 0, done.output
    (tmp_path / "key.pem").write_text(key_pem)
    root = data_dir / "devtsa" / "root.pem"
    checked = runner.invoke(verify_command, [str(out), "--tsa-root", str(root), "--trust-key",
                                             str(tmp_path / "key.pem")])
    assert checked.exit_code == 2 and "development TSA" in checked.stdout, checked.stdout
    assert "records: 3" in checked.stdout
    missing = runner.invoke(export_command, ["--session", "chatgpt/nope", "--out", str(tmp_path / "x.asice"),
                                             "--data", str(data_dir)])
    assert missing.exit_code == 1 and not (tmp_path / "x.asice").exists()
