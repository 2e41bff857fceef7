"""The ASiC-E writer: layout, mimetype header, manifest and SHA256SUMS, streaming, refusals; CLI export/verify."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundle_sample import OpensslTsa, SampleSession, bundle_entries, sample_session
from promptstamp import bundle, bundle_names, canonical
from promptstamp.bundle import SessionEvidence
from promptstamp.bundle_reader import parse_manifest, parse_sums
from promptstamp.cli_evidence import verify_command, write_bundle_file
from promptstamp.errors import InvalidInput, TimestampError
from promptstamp.model import Record


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="acme")


@pytest.fixture(scope="module")
def made(tsa: OpensslTsa) -> tuple[bytes, SampleSession]:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=6, batch_size=4)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    return out.getvalue(), session


def test_mimetype_is_first_stored_and_readable_at_offset_30(made: tuple[bytes, SampleSession]) -> None:
    data = made[0]
    assert data[30:38] == b"mimetype"
    assert data[38:38 + len(bundle_names.MIMETYPE)] == bundle_names.MIMETYPE.encode()
    first = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    assert (first.filename, first.compress_type, first.extra, first.flag_bits & 0x08) == ("mimetype", 0, b"", 0)


def test_layout_follows_the_design(made: tuple[bytes, SampleSession]) -> None:
    names = list(bundle_entries(made[0]))
    session = made[1]
    for rec in session.records:
        assert f"records/{rec.id}.json" in names and f"receipts/{rec.id}.json" in names
    assert {n for n in names if n.startswith("blobs/")} == {f"blobs/{h}" for h in session.blobs}
    for bid in session.evidence.batches:
        assert {f"batches/{bid}/batch.json", f"batches/{bid}/acme.tst", f"batches/{bid}/acme-chain.pem"} <= set(names)
    assert f"keys/{session.key.id}.pem" in names
    assert names[-4:] == [bundle_names.SUMS, bundle_names.SUMS_TOKEN,
                          bundle_names.MANIFEST, bundle_names.MANIFEST_TOKEN]


def test_records_are_the_exact_stored_bytes(made: tuple[bytes, SampleSession]) -> None:
    entries = bundle_entries(made[0])
    for rec_ev in made[1].evidence.records:
        rid = next(r.id for r in made[1].records if r.canonical == rec_ev.record_bytes)
        assert entries[f"records/{rid}.json"] == rec_ev.record_bytes
        assert entries[f"receipts/{rid}.json"] == rec_ev.receipt_bytes


def test_sums_and_manifest_cover_what_the_design_says(made: tuple[bytes, SampleSession]) -> None:
    entries = bundle_entries(made[0])
    sums = dict(parse_sums(entries[bundle_names.SUMS]))
    manifest = dict(parse_manifest(entries[bundle_names.MANIFEST]))
    for name, content in entries.items():
        digest = hashlib.sha256(content).digest()
        assert (sums.get(name) == digest) == bundle_names.in_sums(name), name
        assert (manifest.get(name) == digest) == bundle_names.in_manifest(name), name
    assert b'URI="META-INF/timestamp001.tst"' in entries[bundle_names.MANIFEST]
    assert base64.b64encode(hashlib.sha256(entries[bundle_names.SUMS_TOKEN]).digest()) in entries[bundle_names.MANIFEST]


def test_export_tokens_verify_with_openssl(made: tuple[bytes, SampleSession], tsa: OpensslTsa, tmp_path: Path) -> None:
    entries = bundle_entries(made[0])
    for token, data in ((bundle_names.SUMS_TOKEN, bundle_names.SUMS),
                        (bundle_names.MANIFEST_TOKEN, bundle_names.MANIFEST)):
        (tmp_path / "t.tst").write_bytes(entries[token])
        (tmp_path / "d").write_bytes(entries[data])
        done = subprocess.run(["openssl", "ts", "-verify", "-token_in", "-in", str(tmp_path / "t.tst"), "-data",
                               str(tmp_path / "d"), "-CAfile", str(tsa.dir / "root.pem")],
                              capture_output=True, text=True)
        assert "Verification: OK" in done.stdout, done.stderr


def test_export_refuses_a_blob_whose_bytes_do_not_match(made: tuple[bytes, SampleSession]) -> None:
    ev = made[1].evidence

    def wrong(_hex: str) -> io.BytesIO:
        return io.BytesIO(b"not the image")

    bad = SessionEvidence(**{**ev.__dict__, "open_blob": wrong})
    with pytest.raises(InvalidInput, match="refusing to export"):
        bundle.write_bundle(bad, io.BytesIO(), stamp=lambda d: {})


def test_export_needs_a_tsa_answer(made: tuple[bytes, SampleSession]) -> None:
    with pytest.raises(TimestampError, match="no TSA answered"):
        bundle.write_bundle(made[1].evidence, io.BytesIO(), stamp=lambda d: {})


class _Source:
    """A real evidence source for the export command: the sample session and the OpenSSL TSA."""

    def __init__(self, session: SampleSession, tsa: OpensslTsa) -> None:
        self.session, self.tsa = session, tsa

    def session_evidence(self, account: str, site: str, session_id: str) -> SessionEvidence:
        assert (site, session_id) == (self.session.evidence.site, self.session.evidence.session_id)
        return self.session.evidence

    def stamp_digest(self, digest: bytes) -> Mapping[str, bytes]:
        return self.tsa.stamp(digest)


def test_export_file_then_cli_verify_exit_codes(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                                tmp_path: Path) -> None:
    out = tmp_path / "evidence.asice"
    ev = made[1].evidence
    write_bundle_file(_Source(made[1], tsa), "acct-sample", ev.site, ev.session_id, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]
    key = tmp_path / "key.pem"
    key.write_text(made[1].key.public.pem)
    root = tsa.dir / "root.pem"
    runner = CliRunner()
    ok = runner.invoke(verify_command, [str(out), "--tsa-root", str(root), "--trust-key", str(key)])
    assert ok.exit_code == 0, ok.stdout
    assert ok.stdout.startswith("VALID: every check holds")
    untrusted = runner.invoke(verify_command, [str(out), "--tsa-root", str(root)])
    assert untrusted.exit_code == 2
    assert f"UNTRUSTED service key {made[1].key.id}" in untrusted.stdout
    by_id = runner.invoke(verify_command, [str(out), "--tsa-root", str(root), "--trust-key", made[1].key.id, "--json"])
    assert by_id.exit_code == 0 and '"trusted": true' in by_id.stdout
    broken = tmp_path / "broken.asice"
    broken.write_bytes(out.read_bytes()[:-100])
    bad = runner.invoke(verify_command, [str(broken), "--tsa-root", str(root)])
    assert bad.exit_code == 1 and "INVALID" in bad.stdout


def test_bundle_filename_is_safe() -> None:
    name = bundle_names.bundle_filename("chatgpt", "../../etc/passwd?x", "2026-11-28T12:00:00.123Z")
    assert name == "evidence-chatgpt-etc-passwd-x-20261128T120000Z.asice"


def test_export_parses_each_record_once(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Its file name, its attachments and the reports all come from one parse of the record's bytes.
    parsed: list[bytes] = []
    from_canonical = Record.from_canonical.__func__
    parse_json = canonical.parse_json

    def counted(cls: type[Record], data: bytes) -> Record:
        parsed.append(data)
        return from_canonical(cls, data)

    def counted_json(data: bytes | str) -> object:
        parsed.append(data if isinstance(data, bytes) else data.encode())
        return parse_json(data)

    monkeypatch.setattr(Record, "from_canonical", classmethod(counted))
    monkeypatch.setattr(canonical, "parse_json", counted_json)
    evidence = made[1].evidence
    out = io.BytesIO()
    bundle.write_bundle(evidence, out, stamp=tsa.stamp)
    records = [r.record_bytes for r in (*evidence.records, *evidence.statements)]
    assert sorted(p for p in parsed if p in records) == sorted(records)
