"""The bundle's own verify.sh, run with sh on real bundles and tampered ones: only unzip, sha256sum, openssl."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bundle_sample import OpensslTsa, SampleSession, bundle_entries, png, rebuild_bundle, sample_session
from factories import trusted_but_for_the_dev_tsa
from promptstamp import bundle, bundle_names, canonical
from promptstamp.certs import load_pem_certificates
from promptstamp.model import Receipt
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl")),
                                reason="verify.sh needs sh, unzip, sha256sum and openssl")


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="acme-tsa")


@pytest.fixture(scope="module")
def made(tsa: OpensslTsa) -> tuple[bytes, SampleSession]:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=5, batch_size=2, image_every=2)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    return out.getvalue(), session


def run_sh(tmp_path: Path, data: bytes, root_pem: str, key_pem: str | None) -> tuple[int, str]:
    (tmp_path / "b.asice").write_bytes(data)
    (tmp_path / "root.pem").write_text(root_pem)
    script = tmp_path / "verify.sh"
    # The published script (the repository's copy), never the one inside the bundle being checked.
    script.write_bytes(bundle_names.asset_text("verify.sh").encode())
    args = ["sh", str(script)]
    if key_pem is not None:
        (tmp_path / "key.pem").write_text(key_pem)
        args += ["-k", str(tmp_path / "key.pem")]
    args += [str(tmp_path / "b.asice"), str(tmp_path / "root.pem")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return done.returncode, done.stdout + done.stderr


def fails(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


def test_verify_sh_accepts_a_real_bundle(made: tuple[bytes, SampleSession], tsa: OpensslTsa, tmp_path: Path) -> None:
    code, out = run_sh(tmp_path, made[0], tsa.root_pem, made[1].key.public.pem)
    assert code == 0, out
    assert not fails(out)
    assert "RESULT: VALID" in out
    # Five captured records plus the account record and the device's pairing record.
    assert out.count("Merkle inclusion proof") == 7
    assert out.count("receipt signature verifies") == 7
    assert out.count("device signature verifies with the creator's device key") == 5
    assert "chain: 7 records, seq unbroken" in out
    assert "OK    account: every receipt names account acct-sample" in out
    assert f"OK    device {made[1].records[0].device}: pairing record" in out


def test_verify_sh_without_a_key_exits_2_and_prints_the_fingerprint(made: tuple[bytes, SampleSession],
                                                                   tsa: OpensslTsa, tmp_path: Path) -> None:
    code, out = run_sh(tmp_path, made[0], tsa.root_pem, None)
    assert code == 2, out
    assert f"NOTE  key {made[1].key.id}: taken from the bundle only" in out


def test_verify_sh_with_another_root_is_valid_but_not_trusted(made: tuple[bytes, SampleSession], tmp_path: Path,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    # The tokens hold, but to a TSA root the person verifying did not give: exit 2, as promptstamp verify says.
    other = OpensslTsa(tmp_path_factory.mktemp("other"), name="other")
    code, out = run_sh(tmp_path, made[0], other.root_pem, made[1].key.public.pem)
    assert code == 2, out
    assert not fails(out)
    assert "NOTE  SHA256SUMS.tst: time-stamp over SHA256SUMS" in out
    assert "RESULT: VALID BUT NOT TRUSTED" in out


def test_verify_sh_fails_on_a_flipped_byte_in_every_file(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                                         tmp_path: Path) -> None:
    entries = bundle_entries(made[0])
    for name, content in entries.items():
        if name == "verify.sh":
            continue  # the script under test; SHA256SUMS covers it when another copy of the script runs
        changed = bytearray(content)
        changed[len(changed) // 2] ^= 0x01
        code, out = run_sh(tmp_path, rebuild_bundle({**entries, name: bytes(changed)}), tsa.root_pem,
                           made[1].key.public.pem)
        assert code == 1, f"{name}: {out}"
        if name != "mimetype":
            assert any(name in line or name.split("/")[-1].split(".")[0] in line for line in fails(out)), (name, out)


def test_verify_sh_catches_a_replaced_image_after_resealing(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                                            tmp_path: Path) -> None:
    entries = bundle_entries(made[0])
    blob = next(n for n in entries if n.startswith("blobs/"))
    del entries[blob]
    image = png(8, 6, (255, 0, 0))
    entries["blobs/" + canonical.sha256_digest(image)[7:]] = image
    code, out = run_sh(tmp_path, rebuild_bundle(entries, tsa.stamp), tsa.root_pem, made[1].key.public.pem)
    assert code == 1
    assert [line for line in fails(out)] == [f"FAIL  record {_owner(made[1], blob)}: attachment sha256:{blob[6:]} "
                                             f"missing or altered (blobs/{blob[6:]})"]


def _owner(session: SampleSession, blob: str) -> str:
    return next(r.id for r in session.records if any(a.digest[7:] == blob[6:] for a in r.attachments))


def test_verify_sh_shows_a_removed_record_as_a_gap(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                                   tmp_path: Path) -> None:
    entries = bundle_entries(made[0])
    victim = made[1].records[2]
    del entries[f"records/{victim.id}.json"], entries[f"receipts/{victim.id}.json"]
    code, out = run_sh(tmp_path, rebuild_bundle(entries, tsa.stamp), tsa.root_pem, made[1].key.public.pem)
    assert code == 1
    assert fails(out) == [f"FAIL  chain: gap before record {made[1].records[3].id}: seq 3 to 3 missing "
                          f"(device {made[1].records[0].device})"]


def test_verify_sh_catches_an_altered_receipt_after_resealing(made: tuple[bytes, SampleSession], tsa: OpensslTsa,
                                                              tmp_path: Path) -> None:
    entries = bundle_entries(made[0])
    rec = made[1].records[1]
    name = f"receipts/{rec.id}.json"
    receipt = Receipt.from_json(canonical.parse_json(entries[name]))
    entries[name] = Receipt(**{**receipt.__dict__, "received_at": "2020-01-01T00:00:00.000Z"}).canonical()
    code, out = run_sh(tmp_path, rebuild_bundle(entries, tsa.stamp), tsa.root_pem, made[1].key.public.pem)
    assert code == 1
    assert fails(out) == [f"FAIL  record {rec.id}: receipt signature does not verify (key '{made[1].key.id}')"]


def test_service_bundle_end_to_end(api: Any, tmp_path: Path) -> None:
    """Records in through the API, the bundle out through the API, verified three ways."""
    from factories import Chain, attachment
    from factories import png as factory_png
    from promptstamp import tokens
    from promptstamp.verdict import Trust
    from promptstamp.verify import check_bundle

    chain = Chain()
    image = factory_png(3, 2)
    att = attachment(image)
    assert api.put(f"/v1/blobs/{att['digest']}", image, "image/png").status_code == 201
    records = [chain.next(text="a cat in a teacup"),
               chain.next("output", actor="ai", attachments=[att], refs={"message_id": "m1"}),
               chain.next("selection", refs={"message_id": "m1"}),
               chain.next("note", text="the second one, for its light")]
    assert api.post("/v1/records", records).status_code == 201
    got = api.get(f"/v1/sessions/chatgpt/{chain.session_id}/bundle")
    assert got.status_code == 200, got.get_data()[:300]
    data = got.get_data()
    got.close()  # closes the temporary file the bundle was written to
    keys = api.client.get("/v1/keys").get_json()
    key_pem = keys["keys"][0]["pem"]
    # The dev TSA's root is not offered for pinning (/v1/keys); the test reads it from its file.
    roots_pem = "".join(t.ca_file.read_text() for t in api.client.application.extensions["promptstamp"].settings.tsas)
    roots = tokens.load_pem_certificates(roots_pem)

    report = check_bundle(data, Trust.build(roots, [key_pem]))
    assert trusted_but_for_the_dev_tsa(report), report.text()
    assert report.facts["records"] == 4
    assert check_bundle(data, Trust.build([], [key_pem])).exit_code == 2  # the dev TSA root was not given

    code, out = run_sh(tmp_path, data, roots_pem, key_pem)
    # openssl alone also tells the built-in TSA by its policy: untrusted even with its root given.
    assert code == 2 and not fails(out), out
    assert "development TSA policy 2.25.313571821748590964836994007601738163612" in out

    answer = api.client.post("/v1/verify", data={
        "file": (io.BytesIO(data), "evidence.asice"), "tsa_root": (io.BytesIO(roots_pem.encode()), "roots.pem"),
        "trust_key": (io.BytesIO(key_pem.encode()), "key.pem")}, content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {api.token}"}).get_json()
    assert answer["exit_code"] == 2 and answer["counts"].get("fail", 0) == 0


def test_verify_sh_help_prints_its_usage_from_the_first_line() -> None:
    script = Path(__file__).resolve().parents[2] / "server" / "promptstamp" / "bundle_assets" / "verify.sh"
    done = subprocess.run(["sh", str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Usage: sh verify.sh [-k SERVICE_KEY.pem]...")
    assert not any(line.startswith("#") for line in lines)
    assert lines[-1].endswith("never from the bundle you are checking.")
    wrong = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 1 and wrong.stderr.startswith("Usage: sh verify.sh")


def test_verify_sh_refuses_an_at_time_it_cannot_read() -> None:
    script = Path(__file__).resolve().parents[2] / "server" / "promptstamp" / "bundle_assets" / "verify.sh"
    for wrong in ("2045/01/01", "2045-01-01 12:00", "tomorrow", "2045-01-01T12:00:00+02:00"):
        done = subprocess.run(["sh", str(script), "--at", wrong, "b.asice", "root.pem"], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 1, (wrong, done.stderr)
        assert done.stderr.startswith("--at: expected a date (2045-01-01)"), (wrong, done.stderr)
    assert "--at TIME" in subprocess.run(["sh", str(script), "--help"], capture_output=True, text=True,
                                         timeout=30).stdout


def test_verify_sh_accepts_listings_sealed_by_a_tsa_that_stamped_no_batch(
        made: tuple[bytes, SampleSession], tsa: OpensslTsa, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The TSA that seals SHA256SUMS and the manifest carries its certificate in its tokens only: it chains to a
    # root you gave, so it is accounted for, as on promptstamp verify's validated path.
    sealer = OpensslTsa(tmp_path_factory.mktemp("sealer"), name="sealer-tsa")
    data = rebuild_bundle(bundle_entries(made[0]), sealer.stamp)
    roots = tsa.root_pem + sealer.root_pem
    code, out = run_sh(tmp_path, data, roots, made[1].key.public.pem)
    assert code == 0 and not fails(out), out
    assert check_bundle(data, Trust.build(load_pem_certificates(roots), [made[1].key.public.pem])).exit_code == 0


def test_verify_sh_refuses_a_token_carrying_a_certificate_nothing_accounts_for(
        made: tuple[bytes, SampleSession], tsa: OpensslTsa, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sealer = OpensslTsa(tmp_path_factory.mktemp("sealer"), name="sealer-tsa")
    stray = OpensslTsa(tmp_path_factory.mktemp("stray"), name="stray")
    config = sealer.dir / "tsa.cnf"
    config.write_text(config.read_text().replace("certs=$dir/root.pem", f"certs={stray.dir}/root.pem"))
    data = rebuild_bundle(bundle_entries(made[0]), sealer.stamp)
    roots = tsa.root_pem + sealer.root_pem
    code, out = run_sh(tmp_path, data, roots, made[1].key.public.pem)
    assert code == 1
    assert fails(out) == [
        "FAIL  SHA256SUMS.tst: time-stamp over SHA256SUMS does not verify to the TSA root given: token carries a "
        "certificate that is neither a given root nor one of the bundle's TSA certificates",
        "FAIL  META-INF/timestamp001.tst: time-stamp over the manifest does not verify to the TSA root given: token "
        "carries a certificate that is neither a given root nor one of the bundle's TSA certificates"], out
    assert check_bundle(data, Trust.build(load_pem_certificates(roots), [made[1].key.public.pem])).exit_code == 1
