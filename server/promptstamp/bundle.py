"""Evidence bundle export: an ASiC-E container (ETSI EN 319 162-1) that anyone can verify offline.

Layout (DESIGN.md, "Formats" and "Evidence bundle"; the names are a contract)::

    mimetype                          first entry, stored: application/vnd.etsi.asic-e+zip
    records/<id>.json                 the exact RFC 8785 bytes of each record
    receipts/<id>.json                the signed receipt (RFC 8785 bytes)
    blobs/<hex>                       attachment bytes as the AI tool delivered them
    batches/<batch id>/batch.json     the batch root, size and sealing time
    batches/<batch id>/<tsa>.tst      RFC 3161 token over the root (one per TSA)
    batches/<batch id>/<tsa>-chain.pem  the TSA certificates (convenience; never a trust root)
    batches/<batch id>/<tsa>.ocsp.json  OCSP responses for the token's certificates, fetched after stamping
    keys/<key id>.pem                 service public keys, SPKI PEM
    keys/devices/<key id>.pem         the public key of each device that signed a record, SPKI PEM
    README.txt, report.html, report.zh.html, verify.sh
    SHA256SUMS, SHA256SUMS.tst        `sha256sum -c` list and its export-time token
    META-INF/ASiCManifest001.xml      SHA-256 of every file but mimetype and META-INF/
    META-INF/timestamp001.tst         RFC 3161 token over the manifest bytes

The writer streams: every file is hashed while it is written, blobs are copied chunk by chunk, and
only the file digests are kept in memory. The output must be seekable so that the ``mimetype``
entry gets a plain local header (sizes and CRC in place, no data descriptor), as ASiC readers
that sniff the first bytes expect.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import BinaryIO, Protocol

from . import canonical, report, signing
from .bundle_names import (
    EVIDENCE_RECORD,
    MANIFEST,
    MANIFEST_TOKEN,
    MIMETYPE,
    REPORT_PDF,
    SUMS,
    SUMS_TOKEN,
    TSA_NAME_RE,
    ULID_RE,
    VERIFY_SH,
    asset_text,
    bundle_filename,
    in_manifest,
    in_sums,
    manifest_xml,
    sums_text,
)
from .errors import InvalidInput, PromptStampError, TimestampError
from .evidence import BatchEvidence, EvidenceSource, RecordEvidence, SessionEvidence, Stamper, batch_files
from .model import Receipt, Record

__all__ = ["BatchEvidence", "EvidenceSource", "Exhibit", "RecordEvidence", "SessionEvidence", "Stamper",
           "bundle_filename", "write_bundle"]


class _Digests:
    def __init__(self) -> None:
        self.entries: list[tuple[str, bytes]] = []

    def add(self, name: str, digest: bytes) -> None:
        self.entries.append((name, digest))



def _first_token(tokens: Mapping[str, bytes], what: str) -> bytes:
    for token in tokens.values():
        return token
    raise TimestampError(f"no TSA answered for the {what} token; the bundle cannot be sealed now, try again")


class _Writer:
    def __init__(self, out: BinaryIO, date_time: tuple[int, int, int, int, int, int]) -> None:
        if not out.seekable():
            raise InvalidInput("the bundle must be written to a seekable file (ASiC needs a plain mimetype header)")
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.date_time = date_time
        self.digests = _Digests()

    def _info(self, name: str, *, stored: bool = False) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self.date_time)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def put(self, name: str, data: bytes, *, stored: bool = False) -> bytes:
        digest = hashlib.sha256(data).digest()
        self.zip.writestr(self._info(name, stored=stored), data)
        if name != "mimetype":
            self.digests.add(name, digest)
        return digest

    def put_stream(self, name: str, src: BinaryIO, *, expected_hex: str) -> None:
        h = hashlib.sha256()
        # Images are already compressed: store them, deflate buys nothing and costs time.
        with self.zip.open(self._info(name, stored=True), "w", force_zip64=True) as dst:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                dst.write(chunk)
        if h.hexdigest() != expected_hex:
            raise InvalidInput(f"blob {expected_hex}: stored bytes hash to {h.hexdigest()}; refusing to export")
        self.digests.add(name, h.digest())


def _date_time(exported_at: str) -> tuple[int, int, int, int, int, int]:
    moment = datetime.strptime(exported_at[:19], "%Y-%m-%dT%H:%M:%S")
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)


class Exhibit(Protocol):
    """Signs report.pdf (``pdfsign.PdfExhibitSigner``): with which service key, and the signing itself."""

    key_id: str
    public_pem: str

    def sign(self, pdf: bytes) -> bytes: ...


def write_bundle(evidence: SessionEvidence, out: BinaryIO, *, stamp: Stamper,
                 languages: Sequence[str] = ("en", "zh"), exhibit: Exhibit | None = None) -> None:
    """Write the evidence bundle of one session to ``out`` (seekable), streaming the blobs.

    ``stamp(sha256_digest)`` is called twice, for ``SHA256SUMS`` and for the ASiC manifest;
    ``languages`` are the report languages (``report.html`` English, ``report.zh.html`` Chinese);
    ``exhibit`` adds ``report.pdf`` in those languages, signed, and the key it is signed under.
    """
    if exhibit is not None and exhibit.key_id not in evidence.keys:
        evidence = replace(evidence, keys={**evidence.keys, exhibit.key_id: exhibit.public_pem})
    w = _Writer(out, _date_time(evidence.exported_at))
    try:
        w.put("mimetype", MIMETYPE.encode("ascii"), stored=True)
        blob_hexes: list[str] = []
        seen_blobs: set[str] = set()
        # Each record parsed once, here: its name, its attachments, and (with its receipt) the reports.
        parsed: dict[tuple[bytes, bytes], tuple[Record, Receipt]] = {}
        for rec in (*evidence.records, *evidence.statements):
            record = Record.from_canonical(rec.record_bytes)
            # Stored, not deflated: a few hundred bytes each, where deflate saves little and costs every
            # verifier one zlib stream per file (a quarter of reading a 10,000-record bundle).
            w.put(f"records/{record.id}.json", rec.record_bytes, stored=True)
            w.put(f"receipts/{record.id}.json", rec.receipt_bytes, stored=True)
            for att in record.attachments:
                hex_digest = att.digest[7:]
                if hex_digest not in seen_blobs:
                    seen_blobs.add(hex_digest)
                    blob_hexes.append(hex_digest)
            try:
                parsed[(rec.record_bytes, rec.receipt_bytes)] = (
                    record, Receipt.from_json(canonical.parse_json(rec.receipt_bytes)))
            except PromptStampError:
                pass  # the reports parse it again and say why it does not parse where that matters
        for hex_digest in blob_hexes:
            with evidence.open_blob(hex_digest) as src:
                w.put_stream(f"blobs/{hex_digest}", src, expected_hex=hex_digest)
        for batch_id, batch in evidence.batches.items():
            if not ULID_RE.match(batch_id):
                raise InvalidInput(f"batch id {batch_id!r}: expected a ULID")
            w.put(f"batches/{batch_id}/batch.json", batch.batch_json)
            for tsa in batch.tokens:
                if not TSA_NAME_RE.match(tsa):
                    raise InvalidInput(f"TSA name {tsa!r}: expected lowercase letters, digits, '-' or '_'")
            for name, data in batch_files(batch):
                w.put(f"batches/{batch_id}/{name}", data)
            if batch.evidence_record is not None:
                w.put(f"batches/{batch_id}/{EVIDENCE_RECORD}", batch.evidence_record)
        for kid, pem in evidence.keys.items():
            raw = signing.public_key_from_pem(pem)
            if signing.key_id(raw) != kid:
                raise InvalidInput(f"key {kid}: its PEM holds key {signing.key_id(raw)}")
            w.put(f"keys/{kid}.pem", signing.spki_pem(raw).encode("ascii"))
        for kid, pem in evidence.device_keys.items():
            raw = signing.public_key_from_pem(pem)
            if signing.key_id(raw) != kid:
                raise InvalidInput(f"device key {kid}: its PEM holds key {signing.key_id(raw)}")
            w.put(f"keys/devices/{kid}.pem", signing.spki_pem(raw).encode("ascii"))
        # README.txt and the reports are derived from the records; the verifier re-creates them.
        files = replace(report.from_evidence(evidence), parsed=parsed)
        for name, data in sorted(report.derived_files(files, languages).items()):
            w.put(name, data)
        if exhibit is not None:
            from .report.pdf import exhibit_pdf  # fpdf2 and the fonts load only when a PDF is made

            w.put(REPORT_PDF, exhibit.sign(exhibit_pdf(files, languages)), stored=True)
        w.put(VERIFY_SH, asset_text("verify.sh").encode("utf-8"))

        sums = sums_text([(n, d) for n, d in w.digests.entries if in_sums(n)])
        w.put(SUMS, sums)
        w.put(SUMS_TOKEN, _first_token(stamp(hashlib.sha256(sums).digest()), SUMS))
        manifest = manifest_xml([(n, d) for n, d in w.digests.entries if in_manifest(n)])
        w.put(MANIFEST, manifest)
        w.put(MANIFEST_TOKEN, _first_token(stamp(hashlib.sha256(manifest).digest()), "ASiC manifest"))
    finally:
        w.zip.close()  # on failure the partial output is garbage; the caller discards it


