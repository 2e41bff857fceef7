"""Check 7: each device's chain of steps, seq 1, 2, 3... with every prev the digest of the step before."""

from __future__ import annotations

from collections import defaultdict

from .context import Ctx, Step


def check_chain(ctx: Ctx) -> None:
    by_device: dict[str, list[Step]] = defaultdict(list)
    for rec in ctx.records.values():
        by_device[rec.device or "(no device)"].append(rec)
    by_digest = {r.digest: r for r in ctx.records.values()}
    for device, recs in sorted(by_device.items()):
        recs.sort(key=lambda r: (r.seq, r.id))
        problems = 0
        expected_seq, prev_rec = 1, None
        for rec in recs:
            subject = f"records/{rec.id}.json"
            if prev_rec is not None and rec.seq == prev_rec.seq:
                problems += 1
                ctx.run.add("chain", subject, "seq", "fail",
                            f"duplicated step: records {prev_rec.id} and {rec.id} both have seq {rec.seq}")
                continue
            if rec.seq != expected_seq:
                problems += 1
                missing = (f"seq {expected_seq}" if rec.seq == expected_seq + 1
                           else f"seq {expected_seq} to {rec.seq - 1}")
                ctx.run.add("chain", subject, "seq", "fail",
                            f"gap: expected seq {expected_seq}, found {rec.seq}; {missing} missing from the bundle")
            elif prev_rec is not None and rec.prev != prev_rec.digest:
                problems += 1
                other = by_digest.get(rec.prev or "")
                found = f"record {other.id} (seq {other.seq})" if other else f"{rec.prev}, not in the bundle"
                ctx.run.add("chain", subject, "prev", "fail", f"reordered or altered: expected prev "
                            f"{prev_rec.digest} (seq {prev_rec.seq}), found {found}")
            expected_seq, prev_rec = rec.seq + 1, rec
        if not problems:
            ctx.run.add("chain", f"device {device}", "session chain", "ok",
                        f"seq 1..{recs[-1].seq} unbroken, every prev is the digest of the step before")
        ctx.run.add("chain", f"device {device}", "after the last step", "note",
                    f"the chain shows nothing is missing up to seq {recs[-1].seq}; it cannot show steps after it")

