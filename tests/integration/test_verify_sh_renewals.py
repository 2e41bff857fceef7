"""The published verify.sh on bundles with RFC 4998 evidence records, and on bundles whose TSA certificates have
expired: the set-up of test_renewals (OpenSSL TSAs whose certificates expire in two and ten days, renewals), the
script's ``--at`` standing in for the clock, and ``promptstamp verify`` giving the same exit code each time."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import zipfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_renewals import DAY, Tsa, World
from test_renewals import world as world  # noqa: F401  (the fixture)

from bundle_sample import bundle_entries, rebuild_bundle
from openssl_ocsp import OcspPki, make_pki, ocsp_responder, ocsp_tsa
from promptstamp import bundle_names, ers
from promptstamp.config import TsaConfig
from promptstamp.timestamping import TsaClient
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "unzip", "sha256sum", "openssl", "od")),
                                reason="verify.sh needs sh, unzip, sha256sum, od and openssl")


def run_sh(world: World, tmp_path: Path, data: bytes | Path, at: datetime | str | None = None, *,
           extra_roots: Sequence[Path] = ()) -> tuple[int, str]:
    """The script on a bundle (bytes) or an extracted directory, trusting the three TSAs' roots and the service key."""
    if isinstance(data, bytes):
        (tmp_path / "b.asice").write_bytes(data)
    roots = tmp_path / "roots.pem"
    given = [t.pki.directory / "root.pem" for t in (world.short, world.medium, world.long)] + list(extra_roots)
    roots.write_text("".join(path.read_text() for path in given))
    key = tmp_path / "key.pem"
    key.write_text(world.services.keyring.signing_key.public.pem)
    script = tmp_path / "verify.sh"
    script.write_text(bundle_names.asset_text("verify.sh"))  # the published script, not the bundle's copy
    args = ["sh", str(script), "-k", str(key)]
    if at is not None:
        args += ["--at", at if isinstance(at, str) else at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    target = tmp_path / "b.asice" if isinstance(data, bytes) else data
    done = subprocess.run([*args, str(target), str(roots)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return done.returncode, done.stdout + done.stderr


def agree(world: World, tmp_path: Path, data: bytes, at: datetime | None, code: int) -> str:
    """verify.sh and promptstamp verify both give ``code`` at ``at``; returns the script's output."""
    got, out = run_sh(world, tmp_path, data, at)
    assert got == code, out
    report = check_bundle(data, world.trust(at))
    assert report.exit_code == code, report.text()
    return out


def lines(out: str, start: str, text: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(start) and text in line]


def test_verify_sh_carries_a_renewed_bundle_past_every_expiry_and_says_when_nothing_does(world: World,
                                                                                          tmp_path: Path) -> None:
    now = datetime.now(UTC)
    before = world.bundle()
    agree(world, tmp_path, before, None, 0)
    # Three days on, the stamping TSA's certificate has expired: each token still holds at its genTime, but
    # without an archive time-stamp the time rests on the TSA's key having stayed safe since.
    out = agree(world, tmp_path, before, now + 3 * DAY, 2)
    assert not lines(out, "FAIL", "")
    assert lines(out, "OK    batch ", "verifies to your TSA root") and all(
        "validated at its genTime only" in line for line in lines(out, "OK    batch ", "verifies to your TSA root"))
    lapsed = lines(out, "NOTE  batch ", "time-stamp valid long-term: expected a TSA certificate valid at")
    assert lapsed and all("found neither (lapsed: tsa-short.tst)" in line for line in lapsed), out

    assert world.renewals(world.medium).renew() is not None
    renewed = world.bundle()
    out = agree(world, tmp_path, renewed, None, 0)
    assert lines(out, "OK    batch ", "tsa-short.tst is valid at now") and not lines(out, "NOTE  batch ", "")
    out = agree(world, tmp_path, renewed, now + 3 * DAY, 0)
    carried = lines(out, "OK    batch ", "time-stamp valid long-term: tsa-short.tst is carried to")
    assert len(carried) == len(lines(out, "OK    batch ", "verifies to your TSA root")) > 0, out
    assert "by archive time-stamp (RFC 4998) of " in carried[0] and "Renewal medium TSA" in carried[0]
    # Twelve days on, the renewal's own certificate has expired as well.
    out = agree(world, tmp_path, renewed, now + 12 * DAY, 2)
    assert lines(out, "NOTE  batch ", "expected the last archive time-stamp's certificate valid at")

    assert world.renewals(world.long).renew() is not None
    twice = world.bundle()
    for at in (now + 12 * DAY, now + 1000 * DAY):
        out = agree(world, tmp_path, twice, at, 0)
        assert lines(out, "OK    batch ", "by archive time-stamps (RFC 4998) of "), out
        assert "Renewal medium TSA" in out and "then " in out and "Renewal long TSA" in out
    # Past the long-lived certificate too, nothing carries the time any more.
    agree(world, tmp_path, twice, now + 2000 * DAY, 2)


def resealed(world: World, entries: dict[str, bytes]) -> bytes:
    """The bundle with SHA256SUMS, the manifest and their tokens redone by the batches' own TSA: what a forger
    with a TSA would do, so that only the evidence record's own check can catch the change."""
    client = TsaClient(world.short.config)
    return rebuild_bundle(entries, lambda digest: {"tsa-short": client.stamp(digest).token})


def test_verify_sh_fails_an_altered_evidence_record(world: World, tmp_path: Path) -> None:
    assert world.renewals(world.medium).renew() is not None
    assert world.renewals(world.long).renew() is not None
    entries = bundle_entries(world.bundle())
    names = sorted(n for n in entries if n.endswith("/evidence.ers"))
    name, other = names[0], names[1]
    first, second = ers.decode(entries[name])
    at = datetime.now(UTC) + 3 * DAY
    flipped = bytearray(first.token)
    flipped[-10] ^= 0x01  # inside the token's signature value
    cases = {
        "a sibling of the reduced hash tree replaced": (
            [replace(first, reduced=(first.reduced[0], *((bytes(32),),) * len(first.reduced[1:]))), second]
            if len(first.reduced) > 1 else [replace(first, reduced=(first.reduced[0] + (bytes(32),),)), second],
            "archive time-stamp 1 does not verify over its hash tree's root"),
        "a byte of the first token's signature flipped": (
            [replace(first, token=bytes(flipped)), second], "archive time-stamp 1 does not verify"),
        "the renewal of the renewal over another token": (
            [first, replace(second, reduced=((bytes(32),),))],
            "archive time-stamp 2: the hash of what it covers is not among the first list"),
    }
    for what, (chain, reason) in cases.items():
        data = resealed(world, {**entries, name: ers.encode(chain)})
        out = agree(world, tmp_path, data, at, 1)
        failed = lines(out, "FAIL", "")
        assert len(failed) == 1 and f"{name}: " in failed[0] and reason in failed[0], (what, out)
    # Another batch's record: it covers the TSA's certificates, which every batch shares, but not this token.
    out = agree(world, tmp_path, resealed(world, {**entries, name: entries[other]}), at, 1)
    assert lines(out, "FAIL", "expected the first archive time-stamp to cover a token of the batch before its "
                              "certificate expired, found none it carries"), out
    # Not an evidence record at all.
    out = agree(world, tmp_path, resealed(world, {**entries, name: entries[name][:-1]}), None, 1)
    assert lines(out, "FAIL", f"{name}: evidence record: "), out


def test_verify_sh_gives_the_untouched_renewed_bundle_extracted_the_same_verdict(world: World,
                                                                                  tmp_path: Path) -> None:
    assert world.renewals(world.medium).renew() is not None
    data = world.bundle()
    directory = tmp_path / "extracted"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(directory)
    at = (datetime.now(UTC) + 3 * DAY).strftime("%Y-%m-%d")
    code, out = run_sh(world, tmp_path, directory, at)
    assert code == 0, out
    assert "is carried to " + at in out


def _reissue_tsa_certificate(pki: OcspPki, lifetime: timedelta) -> None:
    """The PKI's TSA certificate issued again, with the same key and extensions, valid for ``lifetime`` from now:
    openssl x509 -req counts validity in days, and a renewal must outlive its certificate within a test."""
    directory = pki.directory
    old = x509.load_pem_x509_certificate((directory / "tsa.pem").read_bytes())
    root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
    root_key = serialization.load_pem_private_key((directory / "root.key").read_bytes(), password=None)
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(root.subject)
               .public_key(old.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + lifetime))
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    cert = builder.sign(root_key, hashes.SHA256())
    (directory / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.write_index()


def test_verify_sh_fails_a_renewal_made_after_the_certificate_it_renews_expired(world: World, tmp_path: Path) -> None:
    with ExitStack() as stack:
        pki = make_pki(tmp_path / "brief", tsa_days=1, name="Renewal brief")
        _reissue_tsa_certificate(pki, timedelta(seconds=15))  # ample for one renewal on a busy machine
        stack.enter_context(ocsp_responder(pki))
        url = stack.enter_context(ocsp_tsa(pki))
        brief = Tsa(pki, TsaConfig(name="tsa-brief", url=url, ca_file=pki.directory / "root.pem", timeout=5))
        first = world.renewals(brief).renew()
        assert first is not None and first.not_after is not None
        time.sleep(max(0.0, (first.not_after - datetime.now(UTC)).total_seconds()) + 1.5)
        # Renewing a renewal whose certificate has expired carries nothing: a key may leak once nobody vouches for it.
        second = world.renewals(world.long).renew()
    assert second is not None and second.renews == (first.id,)
    bundle = world.bundle()
    code, out = run_sh(world, tmp_path, bundle, datetime.now(UTC) + 3 * DAY, extra_roots=[pki.directory / "root.pem"])
    assert code == 1, out
    broken = lines(out, "FAIL  batch ", "time-stamp valid long-term: ")
    assert broken and all("archive time-stamp 2 (" in line and "was made after the certificate of archive time-stamp 1 "
                          "expired: the chain is broken" in line for line in broken), out
    trust = Trust.build([t.pki.der("root") for t in (world.short, world.medium, world.long, brief)],
                        [world.services.keyring.signing_key.public.pem])
    report = check_bundle(bundle, replace(trust, at=datetime.now(UTC) + 3 * DAY))
    assert report.exit_code == 1 and any("the chain is broken" in c.detail for c in report.checks), report.text()
