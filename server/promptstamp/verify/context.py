"""What the bundle checks share: the files, the trust given, the run of checks and what they found."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import canonical, signing, tokens
from ..bundle_reader import BundleFiles
from ..errors import CanonicalizationError, PromptStampError, UntrustedAnchor, VerificationError
from ..model import Receipt, Record
from ..verdict import Outcome, Run, Trust

# How much later than the TSA time a receipt's received_at may be: clocks of the service and the TSA differ.
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class Standing:
    """A token that holds at its genTime, and whether its path still holds at the verification time."""

    name: str  # the token's file in the bundle
    gen_time: datetime
    expires: datetime | None  # first notAfter on its path below the anchor
    valid_at: bool  # the path is valid at the verification time (``Trust.at``, default now)
    signer: str


@dataclass
class BatchState:
    root: bytes | None = None
    root_text: str = ""  # 'sha256:<hex>' of root, as receipts name it
    size: int = 0
    state: str = "unstamped"  # 'stamped' | 'untrusted' | 'unstamped'
    times: list[tuple[str, datetime]] = field(default_factory=list)  # (tsa, genTime) of tokens that hold
    standing: list[Standing] = field(default_factory=list)  # trusted tokens that hold, for the long-term check


@dataclass(frozen=True, slots=True)
class Step:
    """What the chain check and the facts need of a record (small, so workers can send it back)."""

    id: str
    seq: int
    prev: str | None
    digest: str
    device: str | None
    site: str
    session_id: str
    captured_at: str
    type: str
    account: str = ""  # from the record's receipt, once its signature holds
    device_signed: bool = False  # the receipt carries a device signature that verified


@dataclass
class Ctx:
    files: BundleFiles
    trust: Trust
    run: Run
    rests_on: list[str] = field(default_factory=list)
    keys: dict[str, signing.PublicKey] = field(default_factory=dict)
    batches: dict[str, BatchState] = field(default_factory=dict)
    records: dict[str, Step] = field(default_factory=dict)
    # Every record and receipt file parsed once, before the record checks (``records.parse_records``): by
    # file name, what it parsed to or why it did not.
    record_files: dict[str, Record | PromptStampError] = field(default_factory=dict)
    receipt_files: dict[str, Receipt | PromptStampError] = field(default_factory=dict)
    # Record id -> the record and receipt parsed, for the author check and the derived files.
    parsed: dict[str, tuple[Record, Receipt]] = field(default_factory=dict)
    used_blobs: set[str] = field(default_factory=set)
    used_batches: set[str] = field(default_factory=set)
    used_keys: set[str] = field(default_factory=set)
    device_keys: dict[str, signing.PublicKey] = field(default_factory=dict)
    used_device_keys: set[str] = field(default_factory=set)
    chain_certs: list[bytes] | None = None
    trusted_keys: dict[str, bool] = field(default_factory=dict)  # service key id -> whether the verifier trusts it
    # Token DER -> what it says, as the token checks parsed it (for the derived files: parsed once).
    token_infos: dict[bytes, tokens.TokenInfo] = field(default_factory=dict)

    def check(self, step: str, subject: str, name: str, fn: Callable[[], str]) -> Outcome:
        try:
            detail = fn()
        except UntrustedAnchor as e:
            return self.run.add(step, subject, name, "untrusted", e.detail)
        except PromptStampError as e:
            return self.run.add(step, subject, name, "fail", e.detail)
        return self.run.add(step, subject, name, "ok", detail)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection for the duration: the record checks and the re-rendering build
    acyclic data (parsed records, checks, pages) that lives until the verdict, which the collector
    would only traverse again and again (measured: 0.4 of the 3 CPU seconds of checking 10,000 records
    in one process). Re-enabled only if it was enabled, so nested or concurrent uses end with it on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fail(detail: str) -> VerificationError:
    return VerificationError(detail)


def canonical_json(files: BundleFiles, name: str) -> canonical.JsonValue:
    """Parse strictly and require the exact RFC 8785 bytes: what was signed is what is shown."""
    data = files.data[name]
    value = canonical.parse_json(data)
    if canonical.canonicalize(value) != data:
        raise CanonicalizationError(f"{name}: expected RFC 8785 canonical JSON bytes, found another serialization")
    return value
