"""Check 8: each chain (one session, one device) runs seq 1, 2, 3... with every prev the digest of the
step before, within one account. Gaps, duplicates, reordering and chains that cross sessions, devices
or accounts are named (DESIGN.md, "Precise rules" and "One author, one chain")."""

from __future__ import annotations

from collections import defaultdict

from .context import Ctx, Step

ChainKey = tuple[str, str, str]  # site, session id, device key id or "(no device)"


def _key(rec: Step) -> ChainKey:
    return rec.site, rec.session_id, rec.device or "(no device)"


def _label(key: ChainKey) -> str:
    return f"{key[0]}/{key[1]} device {key[2]}"


def check_chain(ctx: Ctx) -> None:
    chains: dict[ChainKey, list[Step]] = defaultdict(list)
    for rec in ctx.records.values():
        chains[_key(rec)].append(rec)
    by_digest = {r.digest: r for r in ctx.records.values()}
    for key, recs in sorted(chains.items()):
        recs.sort(key=lambda r: (r.seq, r.id))
        label = _label(key)
        problems = _accounts(ctx, label, recs)
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
                ctx.run.add("chain", subject, "prev", "fail", f"reordered or altered: expected prev "
                            f"{prev_rec.digest} (seq {prev_rec.seq}), found {_found(rec, by_digest)}")
            elif prev_rec is None and rec.prev is not None:
                problems += 1
                ctx.run.add("chain", subject, "prev", "fail",
                            f"expected prev null for the first step, found {_found(rec, by_digest)}")
            expected_seq, prev_rec = rec.seq + 1, rec
        if not problems:
            ctx.run.add("chain", label, "session chain", "ok",
                        f"seq 1..{recs[-1].seq} unbroken, every prev is the digest of the step before")
        ctx.run.add("chain", label, "after the last step", "note",
                    f"the chain shows nothing is missing up to seq {recs[-1].seq}; it cannot show steps after it")


def _found(rec: Step, by_digest: dict[str, Step]) -> str:
    other = by_digest.get(rec.prev or "")
    if other is None:
        return f"{rec.prev}, not in the bundle"
    where = f"record {other.id} (seq {other.seq})"
    if _key(other) != _key(rec):
        return f"{where} of another chain ({_label(_key(other))}): the chain crosses sessions or devices"
    return where


def _accounts(ctx: Ctx, label: str, recs: list[Step]) -> int:
    accounts = sorted({r.account for r in recs if r.account})
    if len(accounts) <= 1:
        return 0
    ctx.run.add("chain", label, "one account", "fail",
                f"expected one account in a chain, found the chain crosses accounts {', '.join(accounts)}")
    return 1
