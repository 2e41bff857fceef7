"""Check 10: files derived from the evidence (``report.html``, ``README.txt``...) are not trusted as text.

A bundle's human-readable files are only as good as the records they are rendered from: a forger can
write any report beside valid records. So each derived file is re-rendered here from what the checks
before verified, and must be byte for byte what the bundle holds; a file no deriver covers is named as
unchecked text, never as evidence (DESIGN.md, second release: "Nothing in a bundle is trusted as text").

A deriver receives the verified evidence and returns {bundle name: expected bytes}. Rendering must be
deterministic: the same records, receipts and tokens give the same bytes on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .. import bundle_names as names
from ..bundle_reader import BundleFiles
from ..errors import PromptStampError
from .context import Ctx, Step


@dataclass(frozen=True)
class VerifiedEvidence:
    """What a deriver may rely on: only evidence whose checks ran (the verdict says whether they held)."""

    files: BundleFiles  # every name in the bundle, with the bytes of all but blobs
    records: Mapping[str, Step]  # record id -> what the record checks read (parsed again from files as needed)
    facts: Mapping[str, object]  # what the verifier found: account, session, times...
    valid: bool  # whether every check before this one held (no "fail")


Deriver = Callable[[VerifiedEvidence], Mapping[str, bytes]]

# The derivers the verifier runs; the report renderer registers here once it renders deterministically.
DERIVERS: tuple[Deriver, ...] = ()

# Files a bundle carries that are derived, not evidence.
DERIVED_NAMES = (names.REPORT, names.README)


def check_derived(ctx: Ctx, facts: Mapping[str, object], derivers: Sequence[Deriver]) -> None:
    evidence = VerifiedEvidence(ctx.files, ctx.records, facts, not any(c.outcome == "fail" for c in ctx.run.checks))
    covered: set[str] = set()
    for derive in derivers:
        try:
            expected = derive(evidence)
        except PromptStampError as e:
            ctx.run.add("derived", getattr(derive, "__name__", "deriver"), "re-rendered from the records", "fail",
                        f"could not re-render: {e.detail}")
            continue
        for name, data in sorted(expected.items()):
            covered.add(name)
            found = ctx.files.data.get(name)
            if found is None:
                ctx.run.add("derived", name, "re-rendered from the records", "fail",
                            "expected in the bundle (derived from its records), found missing")
            elif found != data:
                ctx.run.add("derived", name, "re-rendered from the records", "fail",
                            "expected the bytes rendered from the verified records, found different text: "
                            "the file was written or altered by hand; trust the verifier's output, not this file")
            else:
                ctx.run.add("derived", name, "re-rendered from the records", "ok",
                            f"{len(data)} bytes, identical to what the verified records render")
    for name in DERIVED_NAMES:
        if name in ctx.files.data and name not in covered:
            ctx.run.add("derived", name, "re-rendered from the records", "note",
                        "not re-derived by this verifier: read it as the exporter's text, not as evidence; "
                        "the checks above are what the evidence proves")
