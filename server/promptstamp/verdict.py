"""What verification found: checks, what they rest on, the exit code, and how it is written out.

Exit codes (DESIGN.md): 0 every check holds and every anchor is trusted; 1 something is invalid;
2 everything holds but rests on a TSA root or service key the verifier was not told to trust.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from . import signing
from .errors import InvalidInput, UntrustedAnchor, VerificationError
from .model import iso_utc as iso_utc  # the one spelling of times, re-exported for report lines

Outcome = Literal["ok", "fail", "untrusted", "note"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "fail", "untrusted", "note")


@dataclass(frozen=True)
class Check:
    """One check: which step of the fixed order, what it was about, its outcome and why."""

    step: str
    subject: str
    name: str
    outcome: Outcome
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"step": self.step, "subject": self.subject, "check": self.name, "outcome": self.outcome,
                "detail": self.detail}


@dataclass(frozen=True)
class Trust:
    """The anchors the person verifying chose: TSA roots (DER) and service keys. Never from the evidence."""

    tsa_roots: tuple[bytes, ...] = ()
    key_ids: frozenset[str] = frozenset()  # 16-hex key ids
    key_fingerprints: frozenset[str] = frozenset()  # 64-hex SHA-256 of raw keys
    # The moment to judge certificate validity at (``promptstamp verify --at``); None: now. Tokens are always
    # checked at their genTime; this is when the path must still hold, or archive time-stamps must carry it.
    at: datetime | None = None

    @classmethod
    def build(cls, tsa_roots: Iterable[bytes] = (), keys: Iterable[str | bytes] = ()) -> Trust:
        """``keys``: SPKI PEM text/bytes, a 16-hex key id or a 64-hex full fingerprint (colons allowed)."""
        ids: set[str] = set()
        fps: set[str] = set()
        for key in keys:
            text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
            if "-----BEGIN" in text:
                if not text.isascii():
                    raise InvalidInput("trusted key: expected an ASCII PEM 'PUBLIC KEY' block, found non-ASCII text")
                fps.add(hashlib.sha256(signing.public_key_from_pem(text)).hexdigest())
                continue
            compact = text.strip().lower().replace(":", "")
            if re.fullmatch(r"[0-9a-f]{16}", compact):
                ids.add(compact)
            elif re.fullmatch(r"[0-9a-f]{64}", compact):
                fps.add(compact)
            else:
                raise InvalidInput(f"trusted key: expected an Ed25519 SPKI PEM, a 16-hex key id or a 64-hex "
                                   f"fingerprint, found {text[:40]!r}")
        return cls(tuple(tsa_roots), frozenset(ids), frozenset(fps))

    def trusts_key(self, raw: bytes) -> bool:
        return signing.key_id(raw) in self.key_ids or hashlib.sha256(raw).hexdigest() in self.key_fingerprints


@dataclass(frozen=True)
class Report:
    """The outcome of verifying a bundle or a bare token. Build with ``Run``; read, print or raise."""

    kind: Literal["bundle", "token"]
    checks: tuple[Check, ...]
    rests_on: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "fail"]

    @property
    def untrusted(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "untrusted"]

    @property
    def exit_code(self) -> int:
        if self.failures or not any(c.outcome == "ok" for c in self.checks):
            return 1
        return 2 if self.untrusted else 0

    @property
    def verdict(self) -> str:
        code = self.exit_code
        if code == 1:
            return f"INVALID: {len(self.failures)} check(s) failed"
        if code == 2:
            return "VALID BUT NOT TRUSTED: internally consistent, resting on anchors you did not give"
        return "VALID: every check holds against the anchors you gave"

    def raise_for_status(self) -> None:
        """Raise VerificationError (first failure) or UntrustedAnchor; return only if fully valid."""
        if self.failures:
            first = self.failures[0]
            raise VerificationError(f"{first.subject}: {first.name}: {first.detail}")
        if not self.checks:
            raise VerificationError("nothing was checked")
        if self.untrusted:
            first = self.untrusted[0]
            raise UntrustedAnchor(f"{first.subject}: {first.name}: {first.detail}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "valid": self.exit_code != 1,
            "trusted": self.exit_code == 0,
            "rests_on": list(self.rests_on),
            "facts": self.facts,
            "counts": dict(Counter(c.outcome for c in self.checks)),
            "checks": [c.to_json() for c in self.checks],
        }

    def text(self, *, verbose: bool = False) -> str:
        """Human lines: failures and untrusted anchors in full, passing checks counted per check name."""
        lines = [self.verdict, ""]
        for key, value in self.facts.items():
            lines.append(f"{key}: {value}")
        if self.facts:
            lines.append("")
        lines.append("Rests on:")
        lines += [f"  {r}" for r in self.rests_on] or ["  (nothing trusted)"]
        lines.append("")
        current = ""
        ok_counts: Counter[tuple[str, str]] = Counter()
        for c in self.checks:
            if c.step != current:
                _flush_ok(lines, ok_counts)
                current = c.step
                lines.append(f"[{c.step}]")
            if c.outcome == "ok" and c.step == "records" and not verbose:
                ok_counts[(c.name, "")] += 1
                continue
            lines.append(f"  {c.outcome.upper():9} {c.subject}: {c.name}: {c.detail}")
        _flush_ok(lines, ok_counts)
        return "\n".join(lines) + "\n"


def _flush_ok(lines: list[str], counts: Counter[tuple[str, str]]) -> None:
    for (name, detail), n in counts.items():
        lines.append(f"  OK        {name}" + (f": {detail}" if detail else "") + (f" ({n}x)" if n > 1 else ""))
    counts.clear()


class Run:
    """Collects checks in the order they run. ``check`` turns a raised error into its outcome."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, step: str, subject: str, name: str, outcome: Outcome, detail: str) -> Outcome:
        self.checks.append(Check(step, subject, name, outcome, detail))
        return outcome

    def report(self, kind: Literal["bundle", "token"], rests_on: Sequence[str] = (),
               facts: dict[str, Any] | None = None) -> Report:
        return Report(kind, tuple(self.checks), tuple(dict.fromkeys(rests_on)), facts or {})
