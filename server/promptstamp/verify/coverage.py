"""Check 8: nothing in the bundle that no record explains (receipts, blobs, batches, keys)."""

from __future__ import annotations

from .context import Ctx


def check_coverage(ctx: Ctx) -> None:
    f = ctx.files
    for e in f.of_kind("receipt"):
        if e.groups[0] not in ctx.records and f"records/{e.groups[0]}.json" not in f.entries:
            ctx.run.add("coverage", e.name, "receipt has its record", "fail",
                        "expected records/" + e.groups[0] + ".json beside this receipt, found missing (removed?)")
    for e in f.of_kind("blob"):
        if e.name not in ctx.used_blobs:
            ctx.run.add("coverage", e.name, "blob is an attachment", "fail",
                        "expected every blob to be named by a record's attachments, found none naming it")
    for bid in ctx.batches:
        if bid not in ctx.used_batches:
            ctx.run.add("coverage", f"batches/{bid}/", "batch holds a record", "fail",
                        "expected every batch to hold a record of the bundle, found none")
    for kid in ctx.keys:
        if kid not in ctx.used_keys:
            ctx.run.add("coverage", f"keys/{kid}.pem", "key signs a receipt", "note", "no receipt uses this key")
    for kid in ctx.device_keys:
        if kid not in ctx.used_device_keys:
            ctx.run.add("coverage", f"keys/devices/{kid}.pem", "device key signs a record", "note",
                        "no record's receipt names this device key")
