"""Checks 1 to 3: the container, the ASiC manifest and SHA256SUMS with their export-time tokens."""

from __future__ import annotations

from collections.abc import Callable

from .. import bundle_names as names
from ..bundle_reader import parse_manifest, parse_sums
from ..zipsafe import ContainerError
from .context import Ctx
from .trust import all_chain_certs, token_detail


def check_container(ctx: Ctx) -> None:
    f = ctx.files
    ctx.run.add("container", "container", "ASiC-E container", "ok",
                f"ZIP with {len(f.digests) + 1} files, mimetype first and stored: {names.MIMETYPE}")
    for name in f.unknown:
        ctx.run.add("container", name, "known file name", "fail",
                    "expected only the names DESIGN.md lists (records/, receipts/, blobs/, batches/, keys/, "
                    "README.txt, report.html, report.zh.html, report.pdf, verify.sh, SHA256SUMS[.tst], META-INF/), "
                    "found an "
                    "unknown file")
    for name in names.FIXED_NAMES:
        if name != "mimetype" and name not in names.REPORTS + names.OPTIONAL_NAMES and name not in f.entries:
            ctx.run.add("container", name, "required file", "fail", "expected in every bundle, found missing")
    if not any(name in f.entries for name in names.REPORTS):
        ctx.run.add("container", names.REPORT, "required file", "fail",
                    f"expected a report in every bundle ({' or '.join(names.REPORTS)}), found none")


# 2. manifest and 3. sums -----------------------------------------------------------------------------
def _listing(ctx: Ctx, step: str, listing: str, pairs: list[tuple[str, bytes]], wanted: Callable[[str], bool]) -> None:
    f = ctx.files
    listed: dict[str, bytes] = {}
    for name, digest in pairs:
        if name in listed:
            ctx.run.add(step, listing, "each file listed once", "fail", f"{name} is listed twice")
        listed[name] = digest
    for name in sorted(f.digests):
        if wanted(name) and name not in listed:
            ctx.run.add(step, name, f"listed in {listing}", "fail", f"expected in {listing}, found unlisted")
    bad = 0
    for name, digest in listed.items():
        if not wanted(name):
            bad += 1
            ctx.run.add(step, name, f"listed in {listing}", "fail", f"{listing} must not list {name}")
        elif name not in f.digests:
            bad += 1
            ctx.run.add(step, name, f"digest in {listing}", "fail", f"{listing} lists it, the container lacks it")
        elif f.digests[name] != digest:
            bad += 1
            ctx.run.add(step, name, f"digest in {listing}", "fail",
                        f"expected SHA-256 {digest.hex()} ({listing}), found {f.digests[name].hex()}")
    if not bad:
        ctx.run.add(step, listing, "every digest matches", "ok", f"{len(listed)} files")


def _export_token(ctx: Ctx, step: str, token_name: str, data_name: str) -> None:
    f = ctx.files
    if token_name not in f.data or data_name not in f.data:
        return
    ctx.check(step, token_name, f"time-stamp over {data_name}",
              lambda: token_detail(ctx, f.data[token_name], data=f.data[data_name], extra=all_chain_certs(ctx)))


def _signed_listing(ctx: Ctx, step: str, name: str, token_name: str, form: str,
                    parse: Callable[[bytes], list[tuple[str, bytes]]], wanted: Callable[[str], bool]) -> None:
    """A listing of file digests (the ASiC manifest, SHA256SUMS): its form, its entries, its token."""
    data = ctx.files.data.get(name)
    if data is None:
        return
    try:
        pairs = parse(data)
    except ContainerError as e:
        ctx.run.add(step, name, form, "fail", e.detail)
    else:
        _listing(ctx, step, name, pairs, wanted)
    _export_token(ctx, step, token_name, name)


def check_manifest(ctx: Ctx) -> None:
    _signed_listing(ctx, "manifest", names.MANIFEST, names.MANIFEST_TOKEN, "ASiC manifest form", parse_manifest,
                    names.in_manifest)


def check_sums(ctx: Ctx) -> None:
    _signed_listing(ctx, "sums", names.SUMS, names.SUMS_TOKEN, "SHA256SUMS form", parse_sums, names.in_sums)

