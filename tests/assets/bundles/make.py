"""Regenerate the named bundle assets: python tests/assets/bundles/make.py (needs openssl).

One file per failure mode (README.md lists each with the verdict the verifier must give). The TSA
and the service key are throwaway test material made here; root.pem and service-key.pem are the
anchors the tests pass in.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

from promptstamp import bundle, bundle_names, canonical, signing

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the sample bundle builder
from bundle_sample import OpensslTsa, bundle_entries, png, rebuild_bundle, sample_session  # noqa: E402

HERE = Path(__file__).resolve().parent


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(entries):
            method = zipfile.ZIP_STORED if i == 0 else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        tsa = OpensslTsa(Path(td) / "tsa", name="asset-tsa")
        key = signing.SigningKeyPair(bytes(range(32)))
        made = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=6, batch_size=3, key=key)
        out = io.BytesIO()
        bundle.write_bundle(made.evidence, out, stamp=tsa.stamp)
        valid = out.getvalue()
        entries = bundle_entries(valid)
        files: dict[str, bytes] = {"valid.asice": valid}

        e = dict(entries)
        blob = next(n for n in e if n.startswith("blobs/"))
        e[blob] = png(8, 6, (255, 0, 0))
        files["tampered-image.asice"] = rebuild_bundle(e, tsa.stamp)

        e = dict(entries)
        victim = made.records[2]
        del e[f"records/{victim.id}.json"], e[f"receipts/{victim.id}.json"]
        files["removed-record.asice"] = rebuild_bundle(e, tsa.stamp)

        e = dict(entries)
        a, b = (f"records/{r.id}.json" for r in made.records[1:3])
        e[a], e[b] = e[b], e[a]
        files["swapped-records.asice"] = rebuild_bundle(e, tsa.stamp)

        e = dict(entries)
        e["README.txt"] = e["README.txt"].replace(b"HOW TO VERIFY", b"HOW NOT TO VERIFY")
        files["edited-readme.asice"] = rebuild_bundle(e)

        e = dict(entries)
        page = e["report.html"].decode("utf-8")
        forged = page.replace("Record of an AI-assisted creative session",
                              "Record of an AI-assisted creative session, all made by Grace Hopper")
        e["report.html"] = forged.encode("utf-8")
        files["fabricated-report.asice"] = rebuild_bundle(e, tsa.stamp)

        other = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=3,
                               key=signing.SigningKeyPair(b"\x07" * 32))
        out = io.BytesIO()
        bundle.write_bundle(other.evidence, out, stamp=tsa.stamp)
        files["unknown-key.asice"] = out.getvalue()

        pend = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=4, batch_size=2, key=key,
                              pending_last_batch=True)
        out = io.BytesIO()
        bundle.write_bundle(pend.evidence, out, stamp=tsa.stamp)
        files["pending.asice"] = out.getvalue()

        mime = ("mimetype", bundle_names.MIMETYPE.encode())
        files["zip-slip.asice"] = _zip([mime, ("../../evil.sh", b"#!/bin/sh\necho pwned\n")])
        files["zip-bomb.asice"] = _zip([mime, ("blobs/" + "0" * 64, b"\0" * (16 << 20))])
        files["wrong-mimetype.asice"] = _zip([("mimetype", b"application/zip"), ("README.txt", b"x")])
        files["not-a-zip.asice"] = b"%PDF-1.7\n" + canonical.sha256_digest(b"x").encode()
        with zipfile.ZipFile(io.BytesIO(valid)) as z, io.BytesIO() as dup:
            with zipfile.ZipFile(dup, "w") as w:
                for info in z.infolist():
                    w.writestr(info, z.read(info))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w.writestr("README.txt", b"a second README.txt that an unzip tool might show instead")
            files["duplicate-entry.asice"] = dup.getvalue()

        for name, data in files.items():
            (HERE / name).write_bytes(data)
        shutil.copy(tsa.dir / "root.pem", HERE / "root.pem")
        (HERE / "service-key.pem").write_text(key.public.pem)
        print(f"wrote {len(files)} bundles to {HERE}")


if __name__ == "__main__":
    main()
