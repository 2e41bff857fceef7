"""The bundle verifier on real bundles (OpenSSL TSA, Ed25519 receipts, RFC 9162 proofs) and tampered ones."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bundle_sample import (
    OpensslTsa,
    SampleSession,
    bundle_entries,
    png,
    rebuild_bundle,
    sample_session,
)
from promptstamp import bundle, bundle_names, canonical, signing, tokens
from promptstamp.errors import UntrustedAnchor, VerificationError
from promptstamp.model import Receipt, Record
from promptstamp.verdict import Report, Trust
from promptstamp.verify import check_bundle, verify_bundle


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="acme-tsa")


@pytest.fixture(scope="module")
def other_tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa2"), name="other-tsa", algorithm="rsa")


def make_bundle(tsa: OpensslTsa, **kwargs: object) -> tuple[bytes, SampleSession]:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, **kwargs)  # type: ignore[arg-type]
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    return out.getvalue(), session


@pytest.fixture(scope="module")
def made(tsa: OpensslTsa) -> tuple[bytes, SampleSession]:
    return make_bundle(tsa, n_records=9, batch_size=4)


@pytest.fixture(scope="module")
def trust(tsa: OpensslTsa, made: tuple[bytes, SampleSession]) -> Trust:
    return Trust.build(tokens.load_pem_certificates(tsa.root_pem), [made[1].key.public.pem])


def failures(report: Report) -> list[str]:
    return [f"{c.subject}: {c.name}: {c.detail}" for c in report.failures]


def test_verify_accepts_a_real_bundle_against_given_anchors(made: tuple[bytes, SampleSession], trust: Trust) -> None:
    report = verify_bundle(made[0], trust)
    assert report.exit_code == 0
    assert report.facts["records"] == 9
    assert any("acme-tsa Root" in r for r in report.rests_on)
    steps = list(dict.fromkeys(c.step for c in report.checks))
    assert steps == ["container", "manifest", "sums", "keys", "batches", "records", "author", "chain", "derived"]


def test_verify_without_the_service_key_is_valid_but_untrusted(made: tuple[bytes, SampleSession],
                                                              tsa: OpensslTsa) -> None:
    report = check_bundle(made[0], Trust.build(tokens.load_pem_certificates(tsa.root_pem)))
    assert report.exit_code == 2
    assert not report.failures
    kid = made[1].key.id
    assert any(f"UNTRUSTED service key {kid}" in r for r in report.rests_on)
    with pytest.raises(UntrustedAnchor, match=kid):
        report.raise_for_status()


def test_verify_trusts_a_key_given_by_id_or_fingerprint(made: tuple[bytes, SampleSession], tsa: OpensslTsa) -> None:
    roots = tokens.load_pem_certificates(tsa.root_pem)
    key = made[1].key.public
    assert check_bundle(made[0], Trust.build(roots, [key.id])).exit_code == 0
    assert check_bundle(made[0], Trust.build(roots, [signing.fingerprint(key.raw)])).exit_code == 0


def test_verify_names_a_token_from_a_root_not_given(made: tuple[bytes, SampleSession],
                                                   other_tsa: OpensslTsa) -> None:
    report = check_bundle(made[0], Trust.build(tokens.load_pem_certificates(other_tsa.root_pem),
                                               [made[1].key.public.pem]))
    assert report.exit_code == 2
    assert not report.failures
    untrusted = report.untrusted
    assert {c.step for c in untrusted} >= {"manifest", "sums", "batches", "records"}
    assert any("Sample acme-tsa Root" in c.detail for c in untrusted if c.step == "batches")
    assert any("chain stops at" in r and "acme-tsa" in r for r in report.rests_on)


def test_verify_reports_a_receipt_by_an_unknown_key_as_untrusted(tsa: OpensslTsa) -> None:
    data, session = make_bundle(tsa, n_records=4, key=signing.SigningKeyPair(b"\x07" * 32))
    trusted = signing.SigningKeyPair(bytes(range(32))).public.pem
    report = check_bundle(data, Trust.build(tokens.load_pem_certificates(tsa.root_pem), [trusted]))
    assert report.exit_code == 2, failures(report)
    names = {c.name for c in report.untrusted}
    assert names == {"service key", "receipt signature"}
    assert all(session.key.id in c.detail for c in report.untrusted)


def test_verify_marks_pending_records_not_time_stamped(tsa: OpensslTsa) -> None:
    data, session = make_bundle(tsa, n_records=5, batch_size=3, pending_last_batch=True)
    report = check_bundle(data, Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.public.pem]))
    assert report.exit_code == 1
    pending = [c for c in report.failures if c.name == "time-stamped"]
    assert len(pending) == 2 and all("pending" in c.detail for c in pending)


# --- tampering ---------------------------------------------------------------------------------------

def test_every_flipped_byte_in_every_file_fails_and_names_the_file(made: tuple[bytes, SampleSession],
                                                                    trust: Trust) -> None:
    entries = bundle_entries(made[0])
    for name, content in entries.items():
        for pos in sorted({0, len(content) // 2, len(content) - 1}):
            changed = bytearray(content)
            changed[pos] ^= 0x01
            tampered = rebuild_bundle({**entries, name: bytes(changed)})
            report = check_bundle(tampered, trust)
            assert report.exit_code == 1, f"{name}@{pos} passed"
            named = [c for c in report.failures if name in c.subject or name in c.detail]
            if name != "mimetype":
                assert named, f"{name}@{pos}: failures do not name the file: {failures(report)}"
            else:
                assert report.failures[0].step == "container"


def _resealed(entries: dict[str, bytes], tsa: OpensslTsa) -> bytes:
    return rebuild_bundle(entries, tsa.stamp)


def test_removed_record_shows_as_a_chain_gap_even_after_resealing(made: tuple[bytes, SampleSession],
                                                                  trust: Trust, tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    victim = made[1].records[3]
    del entries[f"records/{victim.id}.json"], entries[f"receipts/{victim.id}.json"]
    report = check_bundle(_resealed(entries, tsa), trust)
    assert report.exit_code == 1
    gap = [c for c in report.failures if c.step == "chain"]
    assert len(gap) == 1
    assert "gap: expected seq 4, found 5; seq 4 missing" in gap[0].detail
    assert gap[0].subject == f"records/{made[1].records[4].id}.json"


def test_removed_record_with_its_receipt_left_is_named(made: tuple[bytes, SampleSession], trust: Trust,
                                                       tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    victim = made[1].records[2]
    del entries[f"records/{victim.id}.json"]
    report = check_bundle(_resealed(entries, tsa), trust)
    assert any(c.step == "coverage" and victim.id in c.subject for c in report.failures)


def test_swapped_records_are_named(made: tuple[bytes, SampleSession], trust: Trust, tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    a, b = made[1].records[1], made[1].records[2]
    na, nb = f"records/{a.id}.json", f"records/{b.id}.json"
    entries[na], entries[nb] = entries[nb], entries[na]
    report = check_bundle(_resealed(entries, tsa), trust)
    assert report.exit_code == 1
    swapped = {c.subject: c.detail for c in report.failures if c.name == "record"}
    assert f"found record {b.id}: records swapped or renamed" in swapped[na]
    assert f"found record {a.id}: records swapped or renamed" in swapped[nb]


def test_records_out_of_chain_order_are_named(tsa: OpensslTsa) -> None:
    # seq 3 names seq 1 as the step before it, not seq 2: the order the device signed is not the order shown.
    chained = sample_session(tsa.stamp, n_records=3, image_every=0).records
    values = [dict(r.value) for r in chained]
    values[2]["prev"] = chained[0].digest
    data, session = make_bundle(tsa, records_override=values, rechain=False, image_every=0)
    report = check_bundle(data, Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.public.pem]))
    assert [c.step for c in report.failures] == ["chain"]
    detail = report.failures[0].detail
    assert detail.startswith("reordered or altered: expected prev " + session.records[1].digest)
    assert f"found record {session.records[0].id} (seq 1)" in detail


def test_duplicated_step_is_named(tsa: OpensslTsa) -> None:
    chained = sample_session(tsa.stamp, n_records=3, image_every=0).records
    values = [dict(r.value) for r in chained]
    values[2]["seq"], values[2]["prev"] = 2, chained[0].digest
    data, session = make_bundle(tsa, records_override=values, rechain=False, image_every=0)
    report = check_bundle(data, Trust.build(tokens.load_pem_certificates(tsa.root_pem), [session.key.public.pem]))
    assert [c.step for c in report.failures] == ["chain"]
    assert "duplicated step" in report.failures[0].detail and "both have seq 2" in report.failures[0].detail


def test_blob_replaced_by_another_valid_image_fails_its_record(made: tuple[bytes, SampleSession], trust: Trust,
                                                             tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    name = next(n for n in entries if n.startswith("blobs/"))
    entries[name] = png(8, 6, (255, 0, 0))
    report = check_bundle(_resealed(entries, tsa), trust)
    assert report.exit_code == 1
    att = [c for c in report.failures if c.name.startswith("attachment")]
    assert len(att) == 1 and name[6:] in att[0].detail
    # The embedded image changed, so the reports no longer match the records either.
    assert all(c.step in ("records", "derived") for c in report.failures)


def test_receipt_signature_tampered_and_resealed_fails(made: tuple[bytes, SampleSession], trust: Trust,
                                                      tsa: OpensslTsa) -> None:
    entries = bundle_entries(made[0])
    rec = made[1].records[0]
    name = f"receipts/{rec.id}.json"
    receipt = Receipt.from_json(canonical.parse_json(entries[name]))
    moved = Receipt(**{**receipt.__dict__, "received_at": "2020-01-01T00:00:00.000Z"})
    entries[name] = moved.canonical()
    report = check_bundle(_resealed(entries, tsa), trust)
    # The reports show the receipt's time, so they no longer match it either.
    assert [c.subject for c in report.failures if c.step != "derived"] == [name]
    assert "signature does not verify" in report.failures[0].detail


def test_verify_bundle_raises_with_the_first_failure(made: tuple[bytes, SampleSession], trust: Trust) -> None:
    entries = bundle_entries(made[0])
    entries["extra.txt"] = b"hello"
    with pytest.raises(VerificationError, match="extra.txt"):
        verify_bundle(rebuild_bundle(entries), trust)


def test_export_report_and_readme_are_in_the_bundle(made: tuple[bytes, SampleSession]) -> None:
    entries = bundle_entries(made[0])
    assert list(entries)[0] == "mimetype"
    readme = entries["README.txt"].decode()
    assert made[1].key.id in readme and "chatgpt / sample-session-1" in readme
    assert entries["verify.sh"].startswith(b"#!/bin/sh")
    assert b"<!DOCTYPE html>" in entries["report.html"]


Tamper = Callable[[dict[str, bytes]], None]


def test_removing_sums_or_manifest_fails(made: tuple[bytes, SampleSession], trust: Trust, tmp_path: Path) -> None:
    for missing in (bundle_names.SUMS, bundle_names.SUMS_TOKEN, bundle_names.MANIFEST, bundle_names.MANIFEST_TOKEN,
                    bundle_names.REPORT):
        entries = bundle_entries(made[0])
        del entries[missing]
        report = check_bundle(rebuild_bundle(entries), trust)
        assert report.exit_code == 1
        assert any(c.subject == missing for c in report.failures), (missing, failures(report))


def test_forked_workers_give_the_same_report(made: tuple[bytes, SampleSession], trust: Trust, tsa: OpensslTsa,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from promptstamp.verify import records as record_checks
    from promptstamp.verify import trust as trust_checks

    entries = bundle_entries(made[0])
    del entries[f"records/{made[1].records[3].id}.json"]  # a failure too, so the order of checks matters
    data = _resealed(entries, tsa)
    single = check_bundle(data, trust)
    monkeypatch.setattr(record_checks, "PARALLEL_MIN_RECORDS", 2)
    monkeypatch.setattr(trust_checks, "PARALLEL_MIN_TOKENS", 2)
    forked = check_bundle(data, trust, workers=2)
    assert forked.checks == single.checks and forked.exit_code == single.exit_code == 1
    assert check_bundle(made[0], trust, workers=2).checks == check_bundle(made[0], trust).checks


def test_verification_parses_each_record_once(made: tuple[bytes, SampleSession], trust: Trust,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The record checks hand what they parsed to the author check and to the re-rendering of the reports.
    parsed: list[bytes] = []
    original = Record.from_canonical.__func__

    def counted(cls: type[Record], data: bytes) -> Record:
        parsed.append(data)
        return original(cls, data)

    monkeypatch.setattr(Record, "from_canonical", classmethod(counted))
    report = check_bundle(made[0], trust)
    assert report.exit_code == 0
    records = [n for n in bundle_entries(made[0]) if n.startswith("records/")]
    assert len(parsed) == len(records) == len(set(parsed))
