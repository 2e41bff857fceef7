"""`promptstamp keys rotate`: new receipts use the new key, receipts signed before it still verify."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from conftest import make_services
from factories import Chain, trusted_but_for_the_dev_tsa
from promptstamp import tokens
from promptstamp.bundle import write_bundle
from promptstamp.cli import main
from promptstamp.services import Services
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle


def _ingest(svc: Services, account: str, chain: Chain, n: int) -> list[dict[str, object]]:
    results, _ = svc.ledger.ingest(account, [chain.next(text=f"step {chain.seq + 1}") for _ in range(n)])
    return [json.loads(r.outcome.receipt) for r in results]


def _bundle(svc: Services, account: str, chain: Chain) -> bytes:
    out = io.BytesIO()
    write_bundle(svc.ledger.session_evidence(account, chain.site, chain.session_id), out,
                 stamp=svc.ledger.stamp_digest)
    return out.getvalue()


def test_rotation_keeps_old_receipts_verifiable(tmp_path: Path) -> None:
    chain = Chain()
    svc = make_services(tmp_path)
    try:
        account, _ = svc.accounts.create("alice")
        before = _ingest(svc, account.id, chain, 3)
        old_key = svc.keyring.signing_key
    finally:
        svc.close()

    result = CliRunner().invoke(main, ["keys", "rotate", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    assert new_id != old_key.id

    svc = make_services(tmp_path)
    try:
        assert svc.keyring.signing_key.id == new_id
        after = _ingest(svc, account.id, chain, 3)
        assert {r["key"] for r in before} == {old_key.id}
        assert {r["key"] for r in after} == {new_id}
        entries = {e.key.id: e.current for e in svc.keyring.entries()}
        assert entries == {old_key.id: False, new_id: True}

        data = _bundle(svc, account.id, chain)
        roots = tokens.load_pem_certificates(svc.settings.tsas[0].ca_file.read_text())  # type: ignore[union-attr]
        pems = [svc.keyring.public_key(k).pem for k in (old_key.id, new_id)]
        report = check_bundle(data, Trust.build(roots, pems))
        assert trusted_but_for_the_dev_tsa(report), report.text()
        assert report.facts["records"] == 6

        # Trusting only the new key: the old receipts are still valid, and the report names the old key.
        partial = check_bundle(data, Trust.build(roots, [pems[1]]))
        assert partial.exit_code == 2 and not trusted_but_for_the_dev_tsa(partial)
        assert old_key.id in partial.text()
    finally:
        svc.close()


def test_rotation_is_listed_by_keys_command(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["keys", "--data", str(tmp_path)])
    assert first.exit_code == 0, first.output
    old_id = first.stdout.split()[0]
    rotated = runner.invoke(main, ["keys", "--data", str(tmp_path), "rotate"])
    assert rotated.exit_code == 0, rotated.output
    lines = runner.invoke(main, ["keys", "--data", str(tmp_path)]).stdout.splitlines()
    assert lines[0].startswith(rotated.stdout.strip()) and lines[0].endswith("current")
    assert lines[1].startswith(old_id) and lines[1].endswith("retired")


def test_rotation_refuses_without_a_key_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["keys", "rotate", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "does not exist: nothing to rotate" in result.stderr
    assert not (tmp_path / "keys" / "service.key").exists()
