"""What the exporter takes from the ledger: one session's records, receipts, batches and keys.

Plain values, no I/O: the ledger builds them, the bundle writer and the report read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, Protocol


@dataclass(frozen=True)
class RecordEvidence:
    """One record as stored: its exact JCS bytes, its signed receipt's JCS bytes, and its state."""

    record_bytes: bytes
    receipt_bytes: bytes
    status: Literal["stamped", "pending"]


@dataclass(frozen=True)
class BatchEvidence:
    """A sealed batch: ``batch.json`` bytes, one DER token per TSA name, each TSA's chain PEM."""

    batch_json: bytes
    tokens: Mapping[str, bytes]
    chains: Mapping[str, str]
    untrusted: Mapping[str, bool] = field(default_factory=dict)
    revocation: Mapping[str, bytes] = field(default_factory=dict)  # tsa -> OCSP data (``tsa_revocation``)
    evidence_record: bytes | None = None  # RFC 4998 archive time-stamps over the files above (``renewal``)


def batch_files(batch: BatchEvidence) -> list[tuple[str, bytes]]:
    """A batch's time-stamp files as a bundle holds them under ``batches/<id>/``, in writing order: per
    TSA its token, the certificates it came with, and its revocation data. Renewals (``renewal``)
    time-stamp the hashes of exactly these bytes."""
    out = []
    for tsa, token in batch.tokens.items():
        out.append((f"{tsa}.tst", token))
        if tsa in batch.chains:
            out.append((f"{tsa}-chain.pem", batch.chains[tsa].encode("ascii")))
        if tsa in batch.revocation:
            out.append((f"{tsa}.ocsp.json", batch.revocation[tsa]))
    return out


# Opens the original bytes of a blob by its lowercase hex SHA-256; the writer closes the file.
BlobOpener = Callable[[str], BinaryIO]
# Time-stamps a 32-byte SHA-256 digest: {tsa name: DER TimeStampToken}, preferred TSA first.
Stamper = Callable[[bytes], Mapping[str, bytes]]


@dataclass(frozen=True)
class SessionEvidence:
    """Everything the exporter needs for one session, as the ledger holds it.

    ``records`` in session order (seq); every batch a record names must be in ``batches`` and every
    receipt key in ``keys`` (key id -> SPKI PEM); ``open_blob`` must open every attachment digest.
    """

    site: str
    session_id: str
    title: str
    account: str
    records: Sequence[RecordEvidence]
    batches: Mapping[str, BatchEvidence]
    keys: Mapping[str, str]
    open_blob: BlobOpener
    exported_at: str
    # Device key id -> SPKI PEM of every device that signed a record (``keys/devices/<id>.pem``).
    device_keys: Mapping[str, str] = field(default_factory=dict)
    # The service's own records that say who (docs/format.md): the account records and the pairing record
    # of each device in ``device_keys``. Written to records/ like the rest; not steps of the session.
    statements: Sequence[RecordEvidence] = ()


class EvidenceSource(Protocol):
    """What the exporter needs from the ledger (``Ledger`` implements it)."""

    def session_evidence(self, account: str, site: str, session_id: str) -> SessionEvidence:
        """The session's evidence, scoped to ``account``; raises errors.NotFound for an unknown session."""
        ...

    def stamp_digest(self, digest: bytes) -> Mapping[str, bytes]:
        """RFC 3161 tokens over a SHA-256 digest, {tsa name: token DER}; raises TimestampError if none answers."""
        ...

