"""Regenerate the verifier agreement corpus: python tests/assets/corpus/make.py (needs openssl).

Every bundle here must get the same verdict and exit code from ``promptstamp verify``, the published
``verify.sh``, ``POST /v1/verify`` and any other verifier of the format (docs/format.md, "Exit codes").
``MANIFEST`` lists, tab-separated: the bundle, the TSA root file and the service key file the verifier
is given (``-`` for none), the exit code, the verdict word, and what was done to the bundle.

The TSAs and keys are throwaway test material made here (OpenSSL's ``ts -reply`` as the TSA): the
anchors are ``tsa-root.pem`` and ``service-key.pem``; ``other-root.pem`` is a root nobody used.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptstamp import bundle, canonical, signing

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the sample bundle builder
from bundle_sample import OpensslTsa, SampleSession, bundle_entries, png, rebuild_bundle, sample_session  # noqa: E402

HERE = Path(__file__).resolve().parent
VERDICTS = {0: "VALID", 1: "INVALID", 2: "VALID-BUT-NOT-TRUSTED"}


def _bundle(session: SampleSession, tsa: OpensslTsa) -> bytes:
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    return out.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        tsa = OpensslTsa(Path(td) / "tsa", name="corpus-tsa")
        other = OpensslTsa(Path(td) / "other", name="other-tsa")
        forger_tsa = OpensslTsa(Path(td) / "forger", name="corpus-tsa")  # same name, its own root
        key = signing.SigningKeyPair(bytes(range(32)))
        chains = {tsa.name: tsa.chain_pem}
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

        def session(**kw: object) -> SampleSession:
            args: dict[str, object] = {"chains": chains, "n_records": 6, "batch_size": 3, "key": key, "start": start}
            args.update(kw)
            return sample_session(tsa.stamp, **args)  # type: ignore[arg-type]

        good = session()
        good_bytes = _bundle(good, tsa)
        entries = bundle_entries(good_bytes)
        rows: list[tuple[str, str, str, int, str]] = []
        files: dict[str, bytes] = {"good.asice": good_bytes}
        rows += [("good.asice", "tsa-root.pem", "service-key.pem", 0, "a six-step session, two batches, signed by "
                  "its device, as exported"),
                 ("good.asice", "other-root.pem", "service-key.pem", 2, "wrong root: the TSA root given is not "
                  "the one the tokens chain to"),
                 ("good.asice", "tsa-root.pem", "-", 2, "untrusted key: no service key given")]

        e = dict(entries)
        blob = next(n for n in e if n.startswith("blobs/"))
        e[blob] = png(8, 6, (255, 0, 0))
        files["tampered-image.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("tampered-image.asice", "tsa-root.pem", "service-key.pem", 1,
                     "an image replaced; SHA256SUMS, manifest and their tokens redone"))

        e = dict(entries)
        name = f"records/{good.records[0].id}.json"
        edited = canonical.parse_json(e[name])
        assert isinstance(edited, dict) and isinstance(edited.get("text"), str)
        edited["text"] += " (edited later)"
        e[name] = canonical.canonicalize(edited)
        files["tampered-record.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("tampered-record.asice", "tsa-root.pem", "service-key.pem", 1,
                     "a record's text edited; listings resealed"))

        e = dict(entries)
        del e[f"records/{good.records[2].id}.json"], e[f"receipts/{good.records[2].id}.json"]
        files["removed-record.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("removed-record.asice", "tsa-root.pem", "service-key.pem", 1,
                     "record 3 and its receipt removed; listings resealed (a gap in the chain)"))

        e = dict(entries)
        dev = next(n for n in e if n.startswith("keys/devices/"))
        e[dev] = signing.SigningKeyPair(b"\x05" * 32).public.pem.encode()
        files["device-key-swapped.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("device-key-swapped.asice", "tsa-root.pem", "service-key.pem", 1,
                     "the creator's device key replaced by another key; listings resealed"))

        e = dict(entries)
        pairing = next(n for n in e if n.startswith("records/") and b'"type":"pairing"' in e[n])
        del e[pairing], e["receipts/" + pairing.split("/")[1]]
        files["unpaired-device.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("unpaired-device.asice", "tsa-root.pem", "service-key.pem", 1,
                     "the device's pairing record removed; listings resealed: nothing binds the signing key to the "
                     "account"))

        forged = sample_session(forger_tsa.stamp, chains={forger_tsa.name: forger_tsa.chain_pem}, n_records=6,
                                batch_size=3, key=signing.SigningKeyPair(b"\x07" * 32), start=start)
        files["forged.asice"] = _bundle(forged, forger_tsa)
        rows.append(("forged.asice", "tsa-root.pem", "service-key.pem", 2,
                     "made whole by a forger with their own service key and TSA: self-consistent, resting on "
                     "anchors nobody gave"))

        # Two accounts' records of one session, one chain continued across them, a fabricated report.
        alice = session(account="acct-alice")
        mallory = session(account="acct-mallory")
        a, m = bundle_entries(_bundle(alice, tsa)), bundle_entries(_bundle(mallory, tsa))
        e = dict(a)
        for rec in alice.records[3:]:
            for kind in ("records", "receipts"):
                e[f"{kind}/{rec.id}.json"] = m[f"{kind}/{rec.id}.json"]
        second = sorted(n for n in m if n.startswith("batches/"))[-1].split("/")[1]
        for n in m:
            if n.startswith(f"batches/{second}/"):
                e[n] = m[n]
        e["report.html"] = b"<!doctype html><title>Evidence</title><p>Whose work: account acct-alice, all steps.</p>\n"
        files["mixed-account.asice"] = rebuild_bundle(e, tsa.stamp)
        rows.append(("mixed-account.asice", "tsa-root.pem", "service-key.pem", 1,
                     "records of two accounts continuing one chain, a fabricated report.html, listings resealed"))

        pend = session(n_records=4, batch_size=2, pending_last_batch=True)
        files["pending.asice"] = _bundle(pend, tsa)
        rows.append(("pending.asice", "tsa-root.pem", "service-key.pem", 1,
                     "the last batch has no token yet: its records are not time-stamped"))

        for n, data in files.items():
            (HERE / n).write_bytes(data)
        shutil.copy(tsa.dir / "root.pem", HERE / "tsa-root.pem")
        shutil.copy(other.dir / "root.pem", HERE / "other-root.pem")
        (HERE / "service-key.pem").write_text(key.public.pem)
        lines = ["# bundle\ttsa root\tservice key\texit\tverdict\twhat was done\n"]
        lines += [f"{b}\t{r}\t{k}\t{code}\t{VERDICTS[code]}\t{what}\n" for b, r, k, code, what in rows]
        (HERE / "MANIFEST").write_text("".join(lines))
        print(f"wrote {len(files)} bundles and {len(rows)} cases to {HERE}")


if __name__ == "__main__":
    main()
