"""The renewal corpus (tests/assets/renewals, made by its make.py): where it is and the rows of its MANIFEST,
which every verifier's tests hold it to."""

from __future__ import annotations

from pathlib import Path

RENEWALS = Path(__file__).resolve().parent / "assets" / "renewals"


def manifest_rows() -> list[tuple[str, str, int]]:
    """(bundle, verification time, exit code) for each row of the MANIFEST."""
    rows = []
    for line in (RENEWALS / "MANIFEST").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            bundle, at, code, *_ = line.split("\t")
            rows.append((bundle, at, int(code)))
    return rows
