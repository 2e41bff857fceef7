"""Check 10: files derived from the evidence (``report.html``, ``README.txt``...) are not trusted as text.

A bundle's human-readable files are only as good as the records they are rendered from: a forger can
write any report beside valid records. So each derived file is re-rendered here from the bundle's
records, receipts and tokens, and must be byte for byte what the bundle holds; a file no deriver covers
is named as unchecked text, never as evidence (DESIGN.md, second release: "Nothing in a bundle is
trusted as text").

A deriver receives the bundle's files with what the checks parsed of them and returns {bundle name:
expected bytes}. It never sees the verdict: a derived file says what the records say, whether or not
they hold, so it is rendered while the record checks run (``render_derived``) and compared after them
(``check_derived``). Rendering must be deterministic: the same records, receipts and tokens give the
same bytes on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .. import bundle_names as names
from ..bundle_reader import BundleFiles
from ..errors import PromptStampError
from ..model import Receipt, Record
from ..report import EvidenceFiles, derived_files, languages_in
from ..tokens import TokenInfo
from .context import Ctx


@dataclass(frozen=True)
class DerivedFrom:
    """What a deriver renders from: the bundle's files and what the checks parsed of them."""

    files: BundleFiles  # every name in the bundle, with the bytes of all but blobs
    blob: Callable[[str], bytes | None] = lambda _hex: None  # blob hex -> bytes, None past the embedding limit
    # Record id -> record and receipt as the record checks parsed them (not parsed again to render).
    parsed: Mapping[str, tuple[Record, Receipt]] = field(default_factory=dict)
    token_infos: Mapping[bytes, TokenInfo] = field(default_factory=dict)  # token DER -> as the checks parsed it


Deriver = Callable[[DerivedFrom], Mapping[str, bytes]]
# What each deriver gave: its name and the files it rendered, or why it could not.
Rendered = list[tuple[str, Mapping[str, bytes] | PromptStampError]]


def reports_and_readme(evidence: DerivedFrom) -> Mapping[str, bytes]:
    """README.txt and each report language the bundle holds, rendered as the exporter renders them."""
    f = evidence.files
    records = []
    parsed = {}
    for e in sorted(f.of_kind("record"), key=lambda e: e.name):
        receipt = f"receipts/{e.groups[0]}.json"
        if receipt in f.data:
            pair = (f.data[e.name], f.data[receipt])
            records.append(pair)
            if e.groups[0] in evidence.parsed:
                parsed[pair] = evidence.parsed[e.groups[0]]
    batch_tokens: dict[str, dict[str, bytes]] = {e.groups[0]: {} for e in f.of_kind("batch")}
    for e in f.of_kind("token"):
        batch_tokens.setdefault(e.groups[0], {})[e.groups[1]] = f.data[e.name]
    keys = {e.groups[0]: f.data[e.name].decode("ascii", "replace") for e in f.of_kind("key")}
    evidence_records = {e.groups[0]: f.data[e.name] for e in f.of_kind("evidence_record")}
    files = EvidenceFiles(records=records, batch_tokens=batch_tokens, keys=keys, image=evidence.blob, parsed=parsed,
                          token_infos=evidence.token_infos, evidence_records=evidence_records)
    return derived_files(files, languages_in(list(f.entries)))


# The derivers the verifier runs.
DERIVERS: tuple[Deriver, ...] = (reports_and_readme,)

# Files a bundle carries that are derived, not evidence.
DERIVED_NAMES = names.DERIVED_NAMES


def render_derived(ctx: Ctx, derivers: Sequence[Deriver],
                   blob: Callable[[str], bytes | None] = lambda _hex: None) -> Rendered:
    """Run every deriver on the files and what the checks parsed (``ctx.parsed``, ``ctx.token_infos``)."""
    evidence = DerivedFrom(ctx.files, blob, ctx.parsed, ctx.token_infos)
    out: Rendered = []
    for derive in derivers:
        name = getattr(derive, "__name__", "deriver")
        try:
            out.append((name, derive(evidence)))
        except PromptStampError as e:
            out.append((name, e))
    return out


def check_derived(ctx: Ctx, rendered: Rendered) -> None:
    """Each rendered file against the bundle's, in the derivers' order."""
    covered: set[str] = set()
    for deriver, expected in rendered:
        if isinstance(expected, PromptStampError):
            ctx.run.add("derived", deriver, "re-rendered from the records", "fail",
                        f"could not re-render: {expected.detail}")
            continue
        for name, data in sorted(expected.items()):
            covered.add(name)
            found = ctx.files.data.get(name)
            if found is None:
                ctx.run.add("derived", name, "re-rendered from the records", "fail",
                            "expected in the bundle (derived from its records), found missing")
            elif found != data:
                ctx.run.add("derived", name, "re-rendered from the records", "fail",
                            f"{name} does not match the records: {first_difference(data, found)}; the file was "
                            "written or altered by hand: trust the verifier's output, not this file")
            else:
                ctx.run.add("derived", name, "re-rendered from the records", "ok",
                            f"{len(data)} bytes, identical to what the verified records render")
    _verify_sh(ctx)
    for name in DERIVED_NAMES:
        if name in ctx.files.data and name not in covered:
            ctx.run.add("derived", name, "re-rendered from the records", "note",
                        "not re-derived by this verifier: read it as the exporter's text, not as evidence; "
                        "the checks above are what the evidence proves")


def first_difference(expected: bytes, found: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(expected, found, strict=False)) if a != b),
              min(len(expected), len(found)))
    line = expected.count(b"\n", 0, at) + 1
    show_expected = expected[max(0, at - 20): at + 40].decode("utf-8", "replace")
    show_found = found[max(0, at - 20): at + 40].decode("utf-8", "replace")
    return (f"first difference at byte {at} (line {line}): expected {show_expected!r}, found {show_found!r} "
            f"({len(expected)} bytes expected, {len(found)} found)")


def _verify_sh(ctx: Ctx) -> None:
    """The bundle's verify.sh is a convenience copy; say whether it is the script this verifier ships."""
    data = ctx.files.data.get(names.VERIFY_SH)
    if data is None:
        return
    published = names.published_verify_sh_sha256()
    found = hashlib.sha256(data).hexdigest()
    if found == published:
        ctx.run.add("derived", names.VERIFY_SH, "the published verify.sh", "ok",
                    f"identical to the project's published script (SHA-256 {published})")
    else:
        ctx.run.add("derived", names.VERIFY_SH, "the published verify.sh", "note",
                    f"not the script this verifier ships (SHA-256 {found}, published {published}): an older "
                    "version or altered; never run the copy in a bundle, take it from the project")
