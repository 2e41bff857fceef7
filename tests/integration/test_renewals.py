"""Archive time-stamps (RFC 4998) with real parts: OpenSSL TSAs whose certificates expire in two and ten
days, each with an ``openssl ocsp`` responder, and a long-lived third. The tests' clock is the
verifier's ``--at``: the bundle is verified today, after the first certificate expired, after the second,
and years ahead, before and after each renewal."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_dashboard import sign_in
from test_recovery import Api, api_for

from conftest import make_services
from factories import Chain
from openssl_ocsp import OcspPki, make_pki, ocsp_responder, ocsp_tsa
from promptstamp import ers, layout, renewal
from promptstamp.cli import main
from promptstamp.config import TsaConfig
from promptstamp.errors import TimestampError
from promptstamp.renewal import Renewals
from promptstamp.services import Services
from promptstamp.timestamping import TsaClient
from promptstamp.verdict import Check, Report, Trust
from promptstamp.verify import check_bundle

DAY = timedelta(days=1)


@dataclass
class Tsa:
    pki: OcspPki
    config: TsaConfig


@dataclass
class World:
    services: Services
    api: Api
    chain: Chain
    short: Tsa  # expires in 2 days: stamps the batches
    medium: Tsa  # expires in 10 days: the first renewal
    long: Tsa  # five years: the renewal of the renewal

    def trust(self, at: datetime | None = None) -> Trust:
        roots = [t.pki.der("root") for t in (self.short, self.medium, self.long)]
        trust = Trust.build(roots, [self.services.keyring.signing_key.public.pem])
        return replace(trust, at=at)

    def bundle(self) -> bytes:
        r = self.api.get(f"/v1/sessions/{self.chain.site}/{self.chain.session_id}/bundle?lang=en")
        try:
            data: bytes = r.data
        finally:
            r.close()
        assert r.status_code == 200
        return data

    def renewals(self, tsa: Tsa, margin_days: float = 30) -> Renewals:
        ledger = self.services.ledger
        return Renewals(self.services.store, ledger.index, [TsaClient(tsa.config)], margin=timedelta(days=margin_days),
                        settle_s=0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with ExitStack() as stack:
        tsas = []
        for name, days in (("short", 2), ("medium", 10), ("long", 1825)):
            pki = make_pki(tmp_path / name, tsa_days=days, name=f"Renewal {name}")
            stack.enter_context(ocsp_responder(pki))
            url = stack.enter_context(ocsp_tsa(pki))
            tsas.append(Tsa(pki, TsaConfig(name=f"tsa-{name}", url=url, ca_file=pki.directory / "root.pem",
                                           timeout=5)))
        services = make_services(tmp_path / "data", tsas=(tsas[0].config,))
        stack.callback(services.close)
        api, chain = api_for(services), Chain()
        for text in ("a prompt", "the answer", "an edit"):
            r = api.post("/v1/records", chain.next(text=text))
            assert r.status_code == 201, r.get_json()
        world = World(services, api, chain, *tsas)
        world.bundle()  # writes the account record, in a batch of its own
        batches = {k.split("/")[1] for k in services.store.list(layout.BATCHES)}
        deadline = time.monotonic() + 30  # revocation data is fetched in the background right after stamping
        while not all(services.store.exists(layout.revocation(b, "tsa-short")) for b in batches):
            assert time.monotonic() < deadline, "revocation data never stored"
            time.sleep(0.05)
        yield world


def long_term(report: Report) -> list[Check]:
    return [c for c in report.checks if c.name == "time-stamp valid long-term"]


def test_renewals_carry_a_bundle_past_the_expiry_of_every_tsa_certificate(world: World) -> None:
    now = datetime.now(UTC)
    before = world.bundle()
    assert check_bundle(before, world.trust()).exit_code == 0
    # Three days on, the stamping TSA's certificate has expired and nothing renewed it.
    lapsed = check_bundle(before, world.trust(now + 3 * DAY))
    assert lapsed.exit_code == 2, lapsed.text()
    checks = long_term(lapsed)
    assert checks and {c.outcome for c in checks} == {"untrusted"}
    assert "or an archive time-stamp made before it expired, found neither" in checks[0].detail
    assert any(r.startswith("LAPSED TSA certificate") for r in lapsed.rests_on)

    # Not due while the margin is shorter than the time left; due with a month's margin.
    assert world.renewals(world.medium, margin_days=1).renew() is None
    first = world.renewals(world.medium).renew()
    assert first is not None and first.tsa == "tsa-medium" and not first.renews and first.ocsp
    assert world.renewals(world.medium, margin_days=5).renew() is None  # every batch covered, the renewal lasts

    (view,) = world.api.get(f"/v1/batches/{first.segments[0].first}").get_json()["archive_timestamps"]
    assert view["renewal"] == first.id and view["tsa"] == "tsa-medium" and view["certificate_expires"]
    # The dashboard's record page lists the renewal under the record's batch.
    session = world.api.get(f"/v1/sessions/{world.chain.site}/{world.chain.session_id}").get_json()
    record_id = session["records"][0]["record"]["id"]
    sign_in(world.api.client, world.api.token)
    page = world.api.client.get(f"/app/records/{record_id}").text
    assert "<h2>Archive time-stamps</h2>" in page and "tsa-medium" in page and first.id in page

    renewed = world.bundle()
    with zipfile.ZipFile(io.BytesIO(renewed)) as z:
        records = [n for n in z.namelist() if n.endswith("/evidence.ers")]
        assert records
        (stamp,) = ers.decode(z.read(records[0]))
    assert stamp.token == first.token and stamp.ocsp_responses and stamp.certificates
    # The report lists the renewal in plain words (the verifier re-renders it, so it is held to the records).
    with zipfile.ZipFile(io.BytesIO(renewed)) as z:
        report_html = z.read("report.html").decode()
    assert "<h2>Archive time-stamps</h2>" in report_html and "Renewal medium TSA" in report_html
    assert "<h2>Archive time-stamps</h2>" not in zipfile.ZipFile(io.BytesIO(before)).read("report.html").decode()
    report = check_bundle(renewed, world.trust(now + 3 * DAY))
    assert report.exit_code == 0, report.text()
    detail = long_term(report)[0].detail
    assert "is carried to" in detail and "archive time-stamp (RFC 4998)" in detail and "Renewal medium TSA" in detail

    # Twelve days on, the renewal's own certificate has expired too: renew the renewal.
    assert check_bundle(renewed, world.trust(now + 12 * DAY)).exit_code == 2
    second = world.renewals(world.long).renew()
    assert second is not None and second.renews == (first.id,)
    assert not [s for s in second.segments if s.kind == "batches"]  # every batch was covered already
    twice = world.bundle()
    for at in (now, now + 3 * DAY, now + 12 * DAY, now + 1000 * DAY):
        report = check_bundle(twice, world.trust(at))
        assert report.exit_code == 0, (at, report.text())
    assert "archive time-stamps (RFC 4998)" in long_term(check_bundle(twice, world.trust(now + 12 * DAY)))[0].detail
    # Past the long-lived certificate as well, nothing carries it on any more.
    assert check_bundle(twice, world.trust(now + 2000 * DAY)).exit_code == 2


def test_an_altered_evidence_record_fails_with_the_reason(world: World) -> None:
    assert world.renewals(world.medium).renew() is not None
    original = world.bundle()
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        names = z.namelist()
        data = {n: z.read(n) for n in names}
    name = next(n for n in names if n.endswith("/evidence.ers"))
    (stamp,) = ers.decode(data[name])
    forged_tree = (stamp.reduced[0], *((bytes(32),),) * len(stamp.reduced[1:]))
    data[name] = ers.encode([replace(stamp, reduced=forged_tree if len(stamp.reduced) > 1
                                     else (stamp.reduced[0] + (bytes(32),),))])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in names:
            z.writestr(n, data[n], compress_type=zipfile.ZIP_STORED if n == "mimetype" else zipfile.ZIP_DEFLATED)
    report = check_bundle(out.getvalue(), world.trust(datetime.now(UTC) + 3 * DAY))
    assert report.exit_code == 1
    (check,) = [c for c in long_term(report) if c.subject == name]
    assert check.outcome == "fail" and "archive time-stamp 1: the imprint check failed" in check.detail


def test_a_batch_stands_while_another_tsas_token_is_valid(world: World, tmp_path: Path) -> None:
    """Two TSAs stamp each batch: once the short-lived one lapses, the long-lived token alone still proves the
    time, with no archive time-stamp needed; the lapsed one is named."""
    services = make_services(tmp_path / "two", tsas=(world.short.config, world.long.config))
    try:
        api, chain = api_for(services), Chain()
        assert api.post("/v1/records", chain.next(text="a prompt")).status_code == 201
        url = f"/v1/sessions/{chain.site}/{chain.session_id}/bundle?lang=en"
        api.get(url).close()  # writes the account record, in a batch of its own
        batches = {k.split("/")[1] for k in services.store.list(layout.BATCHES)}
        deadline = time.monotonic() + 30  # the slower TSA's token may come after the acknowledgement
        while not all(len(services.ledger.index.tokens(b)) == 2 for b in batches):
            assert time.monotonic() < deadline, "the second TSA's token never came"
            time.sleep(0.1)
        r = api.get(url)
        bundle = r.data
        r.close()
    finally:
        services.close()
    roots = [t.pki.der("root") for t in (world.short, world.long)]
    trust = Trust.build(roots, [services.keyring.signing_key.public.pem])
    report = check_bundle(bundle, replace(trust, at=datetime.now(UTC) + 3 * DAY))
    assert report.exit_code == 0, report.text()
    checks = long_term(report)
    assert checks and {c.outcome for c in checks} == {"ok"}
    assert "/tsa-long.tst is valid at" in checks[0].detail
    assert "lapsed without an archive time-stamp: batches/" in checks[0].detail and "/tsa-short.tst" in checks[0].detail
    assert not any(r.startswith("LAPSED") for r in report.rests_on)


def test_promptstamp_renew_and_the_periodic_job(world: World, tmp_path: Path) -> None:
    medium = world.medium.config
    env = {"PROMPTSTAMP_DATA": str(tmp_path / "data"), "PROMPTSTAMP_TSA": f"tsa-medium={medium.url}|{medium.ca_file}",
           "PROMPTSTAMP_RECOVERY_GRACE_S": "0"}
    runner = CliRunner()
    result = runner.invoke(main, ["renew", "--margin-days", "1", "--settle-s", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing to renew: ") and "earliest expiry" in result.output
    result = runner.invoke(main, ["renew", "--margin-days", "30", "--settle-s", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("renewal ") and "batch(es) and 0 earlier renewal(s) time-stamped by TSA " \
        "tsa-medium" in result.output
    # The service's periodic job: due once the renewal's own certificate nears its end; one instance a day.
    renewals = world.services.ledger.renewals
    renewals.margin = timedelta(days=30)
    run = renewals.renew(claim=True)
    assert run is not None and len(run.renews) == 1 and run.tsa == "tsa-short"
    assert world.services.store.exists(layout.renewal_claim(datetime.now(UTC).strftime("%Y-%m-%d")))
    assert renewals.renew(claim=True, force=True) is None  # claimed for today already
    result = runner.invoke(main, ["renew", "--force", "--settle-s", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 batch(es) and 1 earlier renewal(s)" in result.output


def test_a_tsa_revoked_for_a_compromise_is_refused_for_renewal_and_its_archive_time_stamp_fails(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with ExitStack() as stack:
        pki = make_pki(world.short.pki.directory.parent / "compromised", tsa_days=365, name="Renewal compromised")
        url = stack.enter_context(ocsp_tsa(pki))
        # Revoked for a key compromise an hour ago: the responder says so when the renewal asks.
        pki.write_index(revoked_at=(datetime.now(UTC) - timedelta(hours=1)).strftime("%y%m%d%H%M%SZ"))
        stack.enter_context(ocsp_responder(pki))
        config = TsaConfig(name="tsa-compromised", url=url, ca_file=pki.directory / "root.pem", timeout=5)

        def renewals() -> Renewals:
            return Renewals(world.services.store, world.services.ledger.index, [TsaClient(config)],
                            margin=timedelta(days=30), settle_s=0)
        with pytest.raises(TimestampError, match="tsa-compromised: certificate revoked: .*key_compromise"):
            renewals().renew()
        assert not list(world.services.store.list(layout.RENEWAL_RUNS))
        # A renewal made without that check (an older release, another tool) does not fool a verifier.
        monkeypatch.setattr(renewal, "revoked_detail", lambda stamped, responses: None)
        run = renewals().renew()
    assert run is not None and run.ocsp
    roots = [t.pki.der("root") for t in (world.short, world.medium, world.long)] + [pki.der("root")]
    trust = replace(Trust.build(roots, [world.services.keyring.signing_key.public.pem]),
                    at=datetime.now(UTC) + 3 * DAY)
    report = check_bundle(world.bundle(), trust)
    assert report.exit_code == 1
    failed = [c for c in long_term(report) if c.outcome == "fail"]
    assert failed and "TSA certificate revoked" in failed[0].detail and "key_compromise" in failed[0].detail
