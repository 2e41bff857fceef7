"""Regenerate the renewal corpus: python tests/assets/renewals/make.py (needs openssl).

Bundles whose TSA certificates expire, with and without RFC 4998 evidence records, made by the service
itself: three OpenSSL TSAs, each with an ``openssl ocsp`` responder, whose certificates last two days
(``short``: stamps the batches), ten days (``medium``: the first renewal) and five years (``long``: the
renewal of the renewal); a fourth (``compromised``), whose responder reports its certificate revoked for a
key compromise, renews once more, as a renewal made without checking that (an older release, another tool)
would. Every verifier of the format must give each row of ``MANIFEST`` its exit code when told to judge
certificate validity at the row's time (``promptstamp verify --at``).

``MANIFEST`` lists, tab-separated: the bundle, the verification time, the exit code, the verdict word,
and what the row shows. The anchors are ``tsa-roots.pem`` (the four TSA roots) and ``service-key.pem``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptstamp import ers, layout, renewal
from promptstamp.config import Settings, TsaConfig
from promptstamp.renewal import Renewals
from promptstamp.services import build_services
from promptstamp.timestamping import TsaClient
from promptstamp.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the OpenSSL PKI and the chain
from bundle_sample import bundle_entries, rebuild_bundle  # noqa: E402
from factories import Chain  # noqa: E402
from openssl_ocsp import make_pki, ocsp_responder, ocsp_tsa  # noqa: E402

HERE = Path(__file__).resolve().parent
VERDICTS = {0: "VALID", 1: "INVALID", 2: "VALID-BUT-NOT-TRUSTED"}


def _tampered(renewed: bytes, reseal: TsaClient) -> bytes:
    """The evidence record's hash tree forged (siblings zeroed), SHA256SUMS and the manifest resealed."""
    entries = bundle_entries(renewed)
    name = next(n for n in entries if n.endswith("/evidence.ers"))
    (stamp,) = ers.decode(entries[name])
    forged = (stamp.reduced[0], *((bytes(32),),) * len(stamp.reduced[1:])) if len(stamp.reduced) > 1 \
        else (stamp.reduced[0] + (bytes(32),),)
    entries[name] = ers.encode([replace(stamp, reduced=forged)])
    return rebuild_bundle(entries, lambda digest: {"tsa-long": reseal.stamp(digest).token})


def _stamped_by_two(td: Path, short: TsaConfig, long: TsaConfig) -> bytes:
    """A session whose every batch carries tokens of both TSAs, from a second service with the same key."""
    services = build_services(Settings(data_dir=td / "two", key_file=td / "data" / "keys" / "service.key",
                                       tsas=(short, long), batch_window_ms=20, retry_interval_s=3600,
                                       recovery_grace_s=0))
    try:
        app = create_app(services=services)
        _account, token = app.extensions["promptstamp"].accounts.create("bob")
        client, headers, chain = app.test_client(), {"Authorization": f"Bearer {token}"}, Chain()
        assert client.post("/v1/records", json=chain.next(text="a prompt"), headers=headers).status_code == 201
        url = f"/v1/sessions/{chain.site}/{chain.session_id}/bundle?lang=en"
        client.get(url, headers=headers).close()  # writes the account record, in a batch of its own
        batches = {k.split("/")[1] for k in services.store.list(layout.BATCHES)}
        deadline = time.monotonic() + 30  # the slower TSA's token may come after the acknowledgement
        while not all(len(services.ledger.index.tokens(b)) == 2 for b in batches):
            assert time.monotonic() < deadline, "the second TSA's token never came"
            time.sleep(0.05)
        r = client.get(url, headers=headers)
        data: bytes = r.data
        r.close()
        return data
    finally:
        services.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as td, ExitStack() as stack:
        configs: dict[str, TsaConfig] = {}
        roots = []
        for name, days in (("short", 2), ("medium", 10), ("long", 1825)):
            pki = make_pki(Path(td) / name, tsa_days=days, name=f"Renewal {name}")
            stack.enter_context(ocsp_responder(pki))
            url = stack.enter_context(ocsp_tsa(pki))
            configs[name] = TsaConfig(name=f"tsa-{name}", url=url, ca_file=pki.directory / "root.pem", timeout=5)
            roots.append((pki.directory / "root.pem").read_text())
        services = build_services(Settings(data_dir=Path(td) / "data", tsas=(configs["short"],), batch_window_ms=20,
                                           retry_interval_s=3600, recovery_grace_s=0))
        stack.callback(services.close)
        app = create_app(services=services)
        account, token = app.extensions["promptstamp"].accounts.create("alice")
        client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
        chain = Chain()
        for text in ("a prompt", "the answer", "an edit"):
            assert client.post("/v1/records", json=chain.next(text=text), headers=headers).status_code == 201

        def bundle() -> bytes:
            r = client.get(f"/v1/sessions/{chain.site}/{chain.session_id}/bundle?lang=en", headers=headers)
            assert r.status_code == 200, r.status_code
            data: bytes = r.data
            r.close()
            return data

        bundle()  # writes the account record, in a batch of its own
        batches = {k.split("/")[1] for k in services.store.list(layout.BATCHES)}
        deadline = time.monotonic() + 30  # revocation data is fetched in the background right after stamping
        while not all(services.store.exists(layout.revocation(b, "tsa-short")) for b in batches):
            assert time.monotonic() < deadline, "revocation data never stored"
            time.sleep(0.05)
        now = datetime.now(UTC).replace(microsecond=0)
        service_key = services.keyring.signing_key.public.pem
        files = {"lapsed.asice": bundle()}

        def renew(name: str) -> None:
            renewals = Renewals(services.store, services.ledger.index, [TsaClient(configs[name])],
                                margin=timedelta(days=30), settle_s=0)
            assert renewals.renew() is not None

        renew("medium")
        files["renewed.asice"] = bundle()
        files["tampered-evidence.asice"] = _tampered(files["renewed.asice"], TsaClient(configs["long"]))
        renew("long")
        files["renewed-twice.asice"] = bundle()

        files["two-tsas.asice"] = _stamped_by_two(Path(td), configs["short"], configs["long"])

        pki = make_pki(Path(td) / "compromised", tsa_days=365, name="Renewal compromised")
        url = stack.enter_context(ocsp_tsa(pki))
        pki.write_index(revoked_at=(datetime.now(UTC) - timedelta(hours=1)).strftime("%y%m%d%H%M%SZ"))
        stack.enter_context(ocsp_responder(pki))
        configs["compromised"] = TsaConfig(name="tsa-compromised", url=url, ca_file=pki.directory / "root.pem",
                                           timeout=5)
        roots.append((pki.directory / "root.pem").read_text())
        renewal.revoked_detail = lambda stamped, responses: None  # the service refuses such a TSA; others may not
        Renewals(services.store, services.ledger.index, [TsaClient(configs["compromised"])],
                 margin=timedelta(days=30), settle_s=0).renew(force=True)
        files["revoked-renewal.asice"] = bundle()

    def at(days: int) -> str:
        return (now + timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    rows = [
        ("lapsed.asice", at(0), 0, "every TSA certificate still valid: no evidence record needed"),
        ("lapsed.asice", at(3), 2, "the stamping TSA's certificate expired and no archive time-stamp carries it"),
        ("renewed.asice", at(3), 0, "the stamping TSA's certificate expired; the archive time-stamp carries it"),
        ("renewed.asice", at(12), 2, "the archive time-stamp's own certificate expired too, not renewed"),
        ("tampered-evidence.asice", at(3), 1, "the evidence record's hash tree forged; listings resealed"),
        ("renewed-twice.asice", at(12), 0, "the renewal renewed: a chain of two archive time-stamps"),
        ("renewed-twice.asice", at(2000), 2, "past the last archive time-stamp's certificate as well"),
        ("two-tsas.asice", at(3), 0, "stamped by two TSAs: the short-lived one's certificate expired, the "
         "long-lived one's token still proves the time without an evidence record"),
        ("revoked-renewal.asice", at(12), 1, "the third archive time-stamp's TSA certificate revoked for a key "
         "compromise before it stamped (its OCSP response, carried in the evidence record, says so)"),
    ]
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    (HERE / "tsa-roots.pem").write_text("".join(roots))
    (HERE / "service-key.pem").write_text(service_key)
    manifest = "# bundle\tverify at\texit\tverdict\twhat it shows\n" + "".join(
        f"{n}\t{when}\t{code}\t{VERDICTS[code]}\t{what}\n" for n, when, code, what in rows)
    (HERE / "MANIFEST").write_text(manifest)
    print(f"wrote {len(files)} bundles and MANIFEST to {HERE}")


if __name__ == "__main__":
    main()
