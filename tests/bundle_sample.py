"""Sample sessions with real signatures, Merkle batches and RFC 3161 tokens, for tests and the bench.

``OpensslTsa`` is a throwaway TSA: ``openssl ts -reply`` over a fresh test PKI (root -> TSA leaf
with a critical timeStamping EKU). It is independent of our token code, so a bundle built with it
tests our verifier against OpenSSL's idea of a token. Never use it for real evidence.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from promptstamp import canonical, signing, tokens
from promptstamp.bundle import BatchEvidence, RecordEvidence, SessionEvidence
from promptstamp.merkle import MerkleTree
from promptstamp.model import BatchRef, Receipt, Record, format_timestamp

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHA256_ALGID = bytes.fromhex("300d06096086480165030402010500")


def ulid(ms: int, entropy: bytes) -> str:
    value = (ms << 80) | int.from_bytes(entropy[:10].rjust(10, b"\0"), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def timestamp_query(digest: bytes, nonce: int) -> bytes:
    """DER TimeStampReq (RFC 3161 §2.4.1): v1, SHA-256 imprint, a 63-bit nonce, certReq true."""
    if len(digest) != 32 or not 1 << 62 <= nonce < 1 << 63:
        raise ValueError("expected a 32-byte digest and a nonce in [2^62, 2^63)")
    imprint = b"\x30\x31" + _SHA256_ALGID + b"\x04\x20" + digest
    body = b"\x02\x01\x01" + imprint + b"\x02\x08" + nonce.to_bytes(8, "big") + b"\x01\x01\xff"
    return b"\x30" + bytes([len(body)]) + body


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid, solid-colour PNG (for attachments that are real images)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class OpensslTsa:
    """A local test TSA backed by ``openssl ts -reply`` (EC P-256 or RSA signer)."""

    def __init__(self, directory: Path, *, name: str = "sample", algorithm: str = "ec") -> None:
        self.dir = Path(directory)
        self.name = name
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "tsa.pem").exists():
            self._make_pki(algorithm)
        self.root_pem = (self.dir / "root.pem").read_text()
        self.chain_pem = (self.dir / "tsa.pem").read_text() + self.root_pem

    def _make_pki(self, algorithm: str) -> None:
        d = self.dir
        (d / "ext.cnf").write_text(
            "[tsa_ext]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
            "extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n")
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if algorithm == "ec" else [
            "-newkey", "rsa:2048"]
        _openssl("req", "-x509", "-new", *newkey, "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days",
                 "3650", "-subj", f"/CN=Sample {self.name} Root/O=PromptStamp test", "-addext",
                 "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        _openssl("req", "-new", *newkey, "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj",
                 f"/CN=Sample {self.name} TSA/O=PromptStamp test", cwd=d)
        _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2",
                 "-out", "tsa.pem", "-days", "1825", "-extfile", "ext.cnf", "-extensions", "tsa_ext", cwd=d)
        (d / "tsaserial").write_text("01\n")
        (d / "tsa.cnf").write_text(
            f"[tsa]\ndefault_tsa=tsa_cfg\n[tsa_cfg]\ndir={d}\nserial=$dir/tsaserial\ncrypto_device=builtin\n"
            "signer_cert=$dir/tsa.pem\ncerts=$dir/root.pem\nsigner_key=$dir/tsa.key\nsigner_digest=sha256\n"
            "default_policy=1.3.6.1.4.1.99999.1.1\ndigests=sha256,sha384,sha512\naccuracy=secs:1\n"
            "clock_precision_digits=3\nordering=no\ntsa_name=yes\ness_cert_id_alg=sha256\n")

    def respond(self, query_der: bytes) -> bytes:
        with tempfile.TemporaryDirectory() as td:
            q, r = Path(td, "q.tsq"), Path(td, "r.tsr")
            q.write_bytes(query_der)
            _openssl("ts", "-reply", "-config", str(self.dir / "tsa.cnf"), "-queryfile", str(q), "-out", str(r),
                     cwd=self.dir)
            return r.read_bytes()

    def token(self, digest: bytes) -> bytes:
        nonce = (1 << 62) | int.from_bytes(os.urandom(8), "big") % (1 << 62)
        return tokens.token_from_response(self.respond(timestamp_query(digest, nonce)))

    def stamp(self, digest: bytes) -> dict[str, bytes]:
        return {self.name: self.token(digest)}


_PROMPTS = [
    "A lighthouse on a cliff at dusk, oil painting",
    "A lighthouse on a cliff at dusk, oil painting, warm light from the lamp",
    "A lighthouse on a cliff at dusk, oil painting, warm lamp light, storm clouds gathering",
    "Same scene, seen from the sea, a small boat in the foreground <b>bold</b> & \"quoted\"",
]


@dataclass
class SampleSession:
    evidence: SessionEvidence
    key: signing.SigningKeyPair
    records: list[Record]
    blobs: dict[str, bytes]


def sample_session(
    stamp: Callable[[bytes], Mapping[str, bytes]],
    *,
    chains: Mapping[str, str] | None = None,
    n_records: int = 8,
    batch_size: int = 3,
    key: signing.SigningKeyPair | None = None,
    site: str = "chatgpt",
    session_id: str = "sample-session-1",
    start: datetime | None = None,
    image_every: int = 4,
    pending_last_batch: bool = False,
    records_override: Sequence[dict[str, object]] | None = None,
    rechain: bool = True,
    account: str = "acct-sample",
    device_key: signing.SigningKeyPair | None = None,
    with_statements: bool = True,
) -> SampleSession:
    """A session of ``n_records`` steps (prompts, outputs with PNG images, parameters, a selection, a note)."""
    key = key or signing.SigningKeyPair(bytes(range(32)))
    count = len(records_override) if records_override else n_records
    # Captured in the past, so that every step precedes the real TSA time of its batch (stamped now).
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=7 * count + 3600)
    device_key = device_key or signing.SigningKeyPair(b"sample-device-key-0000000000000!")
    device = device_key.id
    values: list[dict[str, object]] = list(records_override or [])
    blobs: dict[str, bytes] = {}
    prev: str | None = None
    records: list[Record] = []
    for i in range(n_records if not values else len(values)):
        when = start + timedelta(seconds=7 * i)
        if values:
            value = dict(values[i])
        else:
            value = _step(i, n_records, site, session_id, device, when, image_every, blobs)
        if rechain:
            value["seq"], value["prev"] = i + 1, prev
        rec = Record.from_json(value)
        records.append(rec)
        prev = rec.digest
    batches: dict[str, BatchEvidence] = {}
    record_ev: list[RecordEvidence] = []
    for b, first in enumerate(range(0, len(records), batch_size)):
        group = records[first:first + batch_size]
        tree = MerkleTree([r.digest_raw for r in group])
        sealed = start + timedelta(seconds=7 * (first + len(group)) + 1)
        bid = ulid(int(sealed.timestamp() * 1000), b"batch" + b.to_bytes(5, "big"))
        pending = pending_last_batch and first + batch_size >= len(records)
        batch_json = canonical.canonicalize({"v": 1, "id": bid, "root": "sha256:" + tree.root.hex(),
                                             "size": tree.size, "sealed_at": format_timestamp(sealed)})
        toks = {} if pending else dict(stamp(tree.root))
        batches[bid] = BatchEvidence(batch_json, toks, {n: (chains or {}).get(n, "") for n in toks if chains},
                                     {n: False for n in toks})
        for idx, rec in enumerate(group):
            receipt = Receipt(
                record=rec.digest, record_id=rec.id, account=account,
                received_at=format_timestamp(start + timedelta(seconds=7 * (first + idx), milliseconds=350)),
                batch=BatchRef(bid, "sha256:" + tree.root.hex(), tree.size, idx,
                               tuple(p.hex() for p in tree.proof(idx))),
                device_key=rec.device, key=key.id,
                # The creator's signature, kept in the receipt (only the sample device's key can make it).
                device_sig=signing.b64(device_key.sign(rec.canonical)) if rec.device == device else None)
            signed = Receipt(**{**receipt.__dict__, "sig": signing.b64(key.sign(receipt.signed_bytes()))})
            record_ev.append(RecordEvidence(rec.canonical, signed.canonical(), "pending" if pending else "stamped"))

    statements, stmt_batch = _statements(account, device_key, start, key, stamp, chains) if with_statements else ([],
                                                                                                             None)
    if stmt_batch is not None:
        batches[stmt_batch[0]] = stmt_batch[1]

    def open_blob(hex_digest: str) -> BinaryIO:
        return io.BytesIO(blobs[hex_digest])

    evidence = SessionEvidence(
        site=site, session_id=session_id, title="Lighthouse series", account=account,
        records=record_ev, batches=batches, keys={key.id: key.public.pem}, open_blob=open_blob,
        exported_at=format_timestamp(start + timedelta(days=1)),
        device_keys={device: device_key.public.pem} if any(r.device == device for r in records) else {},
        statements=statements)
    return SampleSession(evidence, key, records, blobs)


def _statements(account: str, device_key: signing.SigningKeyPair, start: datetime, key: signing.SigningKeyPair,
                stamp: Callable[[bytes], Mapping[str, bytes]], chains: Mapping[str, str] | None,
                ) -> tuple[list[RecordEvidence], tuple[str, BatchEvidence]]:
    """The account record and the device's pairing record, in a batch of their own, stamped before the session."""
    from promptstamp import statements as st

    when = start - timedelta(minutes=5)
    ms = int(when.timestamp() * 1000)
    challenge = st.challenge_text(account, "00112233445566778899aabbccddeeff", format_timestamp(when))
    values = [
        st.service_record(ulid(ms, b"account000"), "account", st.ACCOUNT_SESSION, 1, None, format_timestamp(when),
                          st.account_params(account, "Ada Lovelace", "ada@example.org"), "promptstamp-service/test"),
        st.service_record(ulid(ms, b"pairing000"), "pairing", st.device_session(device_key.id), 1, None,
                          format_timestamp(when), st.pairing_params(account, device_key.public.raw, "Chromium on test",
                                                                     challenge, device_key.sign(challenge.encode())),
                          "promptstamp-service/test"),
    ]
    recs = [Record.from_json(v) for v in values]
    tree = MerkleTree([r.digest_raw for r in recs])
    bid = ulid(ms + 1000, b"statements")
    batch_json = canonical.canonicalize({"v": 1, "id": bid, "root": "sha256:" + tree.root.hex(), "size": tree.size,
                                         "sealed_at": format_timestamp(when + timedelta(seconds=1))})
    toks = dict(stamp(tree.root))
    batch = BatchEvidence(batch_json, toks, {n: (chains or {}).get(n, "") for n in toks if chains},
                          {n: False for n in toks})
    out = []
    for idx, rec in enumerate(recs):
        receipt = Receipt(record=rec.digest, record_id=rec.id, account=account,
                          received_at=format_timestamp(when + timedelta(milliseconds=200)),
                          batch=BatchRef(bid, "sha256:" + tree.root.hex(), tree.size, idx,
                                         tuple(p.hex() for p in tree.proof(idx))),
                          device_key=None, key=key.id)
        signed = Receipt(**{**receipt.__dict__, "sig": signing.b64(key.sign(receipt.signed_bytes()))})
        out.append(RecordEvidence(rec.canonical, signed.canonical(), "stamped"))
    return out, (bid, batch)


def _step(i: int, n: int, site: str, session_id: str, device: str, when: datetime, image_every: int,
          blobs: dict[str, bytes]) -> dict[str, object]:
    rid = ulid(int(when.timestamp() * 1000), i.to_bytes(10, "big"))
    base: dict[str, object] = {
        "v": 1, "id": rid, "session": {"site": site, "id": session_id, "url": f"https://{site}.example/c/1",
                                       "title": "Lighthouse series"},
        "captured_at": format_timestamp(when), "client": {"app": "promptstamp-extension/0.1.0",
                                                          "adapter": f"{site}@1", "device": device},
    }
    if i == n - 1 and n > 2:
        return {**base, "type": "note", "actor": "user", "text": "I chose the third image for its composition."}
    if i == n - 2 and n > 3:
        return {**base, "type": "selection", "actor": "user", "refs": {"message_id": f"m{i - 1}"}}
    kind = i % 4
    if kind == 0:
        return {**base, "type": "prompt", "actor": "user", "text": _PROMPTS[(i // 4) % len(_PROMPTS)],
                "params": {"model": "image-model-2", "seed": 1000 + i // 4, "aspect_ratio": "16:9"}}
    if kind == 1 or kind == 3:
        out: dict[str, object] = {**base, "type": "output" if kind == 1 else "regenerate", "actor": "ai",
                                  "text": "Here is your image. <script>alert('x')</script>",
                                  "refs": {"message_id": f"m{i}"}}
        if image_every and i % image_every in (1, 3):
            data = png(8 + i % 5, 6, ((37 * i) % 256, (91 * i) % 256, (53 * i) % 256))
            hexd = canonical.sha256_digest(data)
            blobs[hexd[7:]] = data
            out["attachments"] = [{"digest": hexd, "media_type": "image/png", "bytes": len(data), "role": "output"}]
        return out
    return {**base, "type": "parameters", "actor": "user",
            "params": {"model": "image-model-2", "seed": 2000 + i, "aspect_ratio": "4:3" if i % 8 == 2 else "1:1"}}


def bundle_entries(data: bytes) -> dict[str, bytes]:
    """Every entry of a (trusted, test-made) bundle, in container order."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rebuild_bundle(entries: Mapping[str, bytes], stamp: Callable[[bytes], Mapping[str, bytes]] | None = None) -> bytes:
    """Re-pack entries as a bundle; with ``stamp``, recompute SHA256SUMS, the manifest and both export tokens.

    This is what a forger with access to a TSA would do after altering a bundle: it lets the tests
    show that the capture-time evidence (signatures, proofs, batch tokens, the chain) still catches it.
    """
    import hashlib
    import zipfile

    from promptstamp import bundle_names

    out = io.BytesIO()
    sealed = (bundle_names.SUMS, bundle_names.SUMS_TOKEN, bundle_names.MANIFEST, bundle_names.MANIFEST_TOKEN)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), entries.get("mimetype", bundle_names.MIMETYPE.encode()),
                   compress_type=zipfile.ZIP_STORED)
        names = [n for n in entries if n != "mimetype" and (stamp is None or n not in sealed)]
        for n in names:
            z.writestr(n, entries[n])
        if stamp is not None:
            digests = [(n, hashlib.sha256(entries[n]).digest()) for n in names]
            sums = bundle_names.sums_text([(n, d) for n, d in digests if bundle_names.in_sums(n)])
            z.writestr(bundle_names.SUMS, sums)
            sums_token = next(iter(stamp(hashlib.sha256(sums).digest()).values()))
            z.writestr(bundle_names.SUMS_TOKEN, sums_token)
            digests += [(bundle_names.SUMS, hashlib.sha256(sums).digest()),
                        (bundle_names.SUMS_TOKEN, hashlib.sha256(sums_token).digest())]
            manifest = bundle_names.manifest_xml([(n, d) for n, d in digests if bundle_names.in_manifest(n)])
            z.writestr(bundle_names.MANIFEST, manifest)
            z.writestr(bundle_names.MANIFEST_TOKEN, next(iter(stamp(hashlib.sha256(manifest).digest()).values())))
    return out.getvalue()
