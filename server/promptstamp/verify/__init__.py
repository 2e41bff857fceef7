"""Offline verification of evidence bundles and of bare RFC 3161 tokens. No I/O beyond the input given.

Bundle checks run in this fixed order; each is recorded with its outcome and an expected-vs-found
reason, and a failure in one never stops the others (the person verifying sees everything wrong):

 1. container   a safe ZIP (limits, names), ``mimetype`` first and stored, only known file names
 2. manifest    ``META-INF/ASiCManifest001.xml`` lists every file outside META-INF/ with its SHA-256,
                and ``META-INF/timestamp001.tst`` is a valid RFC 3161 token over the manifest bytes
 3. sums        ``SHA256SUMS`` lists every file it must, each digest matches; ``SHA256SUMS.tst`` over it
 4. keys        each ``keys/<id>.pem`` is an Ed25519 key with that id; trusted only if the verifier said so;
                each ``keys/devices/<id>.pem`` is the device key it is named after (not an anchor)
 5. batches     ``batch.json`` is canonical and names its root; every token verifies over the root
                (tokens.verify_token: signature, ESS, EKU, chain to a *given* root at genTime); then,
                long-term, each batch's time rests on a path valid at the verification time, directly or
                through its RFC 4998 evidence record (``renewals``)
 6. records     per record: canonical bytes and schema, digest, attachments, receipt (canonical, names the
                record, signed by a bundle key), the creator's device signature kept in the receipt, Merkle
                inclusion proof to the batch root, time-stamped, receipt time not after the TSA time
 7. author      every receipt names one account, the captured records are of one session; the account
                record; a pairing record (proof of possession) for every device key that signed a record
 8. chain       per session and device: seq 1, 2, 3... with every ``prev`` the digest of the step before;
                gaps, duplicates, reordering and chains that cross sessions, devices or accounts are named
 9. coverage    no receipt, blob, batch or key that no record explains
10. derived     README.txt, report.html and report.zh.html are re-created from the records and must be
                byte for byte what the bundle holds (nothing in a bundle is trusted as text); whether the
                bundle's verify.sh is the published one
11. exhibit     report.pdf, if present: signature and time-stamps intact over the whole file, by a
                certificate that a service key of the bundle issued

The modules follow these seams: ``container`` (1-3), ``trust`` (4-5), ``records`` (6), ``author`` (7),
``chain`` (8), ``coverage`` (9), ``derived`` (10); docs/format.md states the same algorithm.

The report lists the checks in this order; the work is arranged for speed: every record and receipt
is parsed once, while forked workers check the tokens of step 5; then forked workers run step 6 while
this process re-renders the derived files of step 10 (they need the parsed records, never the outcomes).

Trust is passed in (``Trust``): TSA roots and service keys. Certificates and keys inside the bundle
are used to build chains and check signatures, never as anchors.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import BinaryIO

from ..bundle_reader import read_files
from ..errors import InvalidInput
from ..report import MAX_IMAGE_EMBED
from ..token_report import check_token
from ..verdict import Report, Run, Trust
from ..zipsafe import DEFAULT_LIMITS, ContainerError, SafeZip, ZipLimits
from .author import check_author
from .chain import check_chain
from .container import check_container, check_manifest, check_sums
from .context import Ctx, collector_paused
from .coverage import check_coverage
from .derived import DERIVERS, Deriver, Rendered, check_derived, render_derived
from .exhibit import check_exhibit_file
from .records import check_records, parse_records, record_names
from .renewals import check_renewals
from .trust import check_batches, check_device_keys, check_keys, trust_from_pems

__all__ = ["Trust", "Report", "check_bundle", "check_token", "verify_bundle", "verify_input",
           "trust_from_pems"]


def check_bundle(source: BinaryIO | bytes, trust: Trust, *, limits: ZipLimits = DEFAULT_LIMITS,
                 workers: int = 1, derivers: Sequence[Deriver] = DERIVERS) -> Report:
    """Run every check on a bundle; never raises for bad evidence (the report says it), only records it.

    ``workers`` > 1 spreads the per-record checks of big bundles over forked processes (the CLI does;
    a web worker should not fork).
    """
    run = Run()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        z = SafeZip(stream, limits)
    except ContainerError as e:
        run.add("container", "container", "readable ASiC-E container", "fail", e.detail)
        return run.report("bundle")
    with z:  # open once: its index of a big bundle costs as much to read as its records
        try:
            files = read_files(z)
        except ContainerError as e:
            run.add("container", "container", "readable ASiC-E container", "fail", e.detail)
            return run.report("bundle")
        return _checks(Ctx(files, trust, run), z, derivers, workers)


def _checks(ctx: Ctx, z: SafeZip, derivers: Sequence[Deriver], workers: int) -> Report:
    check_container(ctx)
    check_manifest(ctx)
    check_sums(ctx)
    check_keys(ctx)
    check_device_keys(ctx)
    def parse() -> None:
        with collector_paused():
            parse_records(ctx, record_names(ctx))

    # Forked workers check the tokens while this process parses the records (step 6 needs both).
    check_batches(ctx, workers, meanwhile=parse)
    check_renewals(ctx)
    rendered: Rendered = []

    def render() -> None:
        rendered.extend(render_derived(ctx, derivers, lambda hexd: _image(ctx, z, hexd)))

    with collector_paused():
        # The derived files need the parsed records, not the checks' outcomes: they are rendered here
        # while forked workers check the records (on one CPU, before the checks).
        facts = check_records(ctx, workers, meanwhile=render)
        facts.update(check_author(ctx))
        check_chain(ctx)
        check_coverage(ctx)
    check_derived(ctx, rendered)
    check_exhibit_file(ctx)
    return ctx.run.report("bundle", ctx.rests_on, facts)


def _image(ctx: Ctx, z: SafeZip, hexd: str) -> bytes | None:
    """A blob's bytes for re-rendering the reports, when they would be embedded (the exporter's limit)."""
    name = f"blobs/{hexd}"
    if name not in ctx.files.entries or ctx.files.sizes.get(name, 0) > MAX_IMAGE_EMBED:
        return None
    return z.read(name, max_bytes=MAX_IMAGE_EMBED)


def verify_bundle(source: BinaryIO | bytes, trust: Trust, *, limits: ZipLimits = DEFAULT_LIMITS) -> Report:
    """Like ``check_bundle`` but raises VerificationError or UntrustedAnchor unless fully valid."""
    report = check_bundle(source, trust, limits=limits)
    report.raise_for_status()
    return report


def verify_input(data: bytes, trust: Trust, *, stamped: bytes | None = None, digest_hex: str | None = None,
                 extra_certs: tuple[bytes, ...] = (), workers: int = 1) -> Report:
    """A bundle (a ZIP) or a bare token/response (anything else): the one engine for every front end."""
    if data[:2] == b"PK":
        if stamped is not None or digest_hex is not None:
            raise InvalidInput("data or digest are for a bare .tsr/.tst; a bundle carries its own data")
        return check_bundle(data, trust, workers=workers)
    if (stamped is None) == (digest_hex is None):
        raise InvalidInput("a bare time-stamp token needs exactly one of the stamped data or its hex digest")
    digest = None
    if digest_hex is not None:
        try:
            digest = bytes.fromhex(digest_hex.strip())
        except ValueError as e:
            raise InvalidInput(f"digest: expected hex, found {digest_hex[:80]!r}") from e
    return check_token(data, trust, data=stamped, digest=digest, extra_certs=extra_certs)
