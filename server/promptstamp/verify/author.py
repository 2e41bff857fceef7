"""Check 7, one author: every receipt names the same account, every captured record is of one session.

DESIGN.md, second release: a bundle that mixes accounts is invalid, whatever else holds; the service's
own records (site ``promptstamp``: the account and pairing records) sit beside the captured session.
"""

from __future__ import annotations

from collections import Counter

from ..statements import SERVICE_SITE
from .context import Ctx


def check_author(ctx: Ctx) -> dict[str, object]:
    facts: dict[str, object] = {}
    accounts = Counter(r.account for r in ctx.records.values() if r.account)
    if accounts:
        account, _ = accounts.most_common(1)[0]
        facts["account"] = account
        if len(accounts) == 1:
            ctx.run.add("author", f"account {account}", "one account", "ok",
                        f"every receipt ({accounts[account]}) names account {account}")
        for other, n in sorted(accounts.items()):
            if other != account:
                ctx.run.add("author", f"account {other}", "one account", "fail",
                            f"expected every receipt to name account {account}, found {n} naming account {other}: "
                            "a bundle is one author's evidence")
    sessions = Counter((r.site, r.session_id) for r in ctx.records.values() if r.site != SERVICE_SITE)
    if sessions:
        (site, sid), _ = sessions.most_common(1)[0]
        facts["session"] = f"{site}/{sid}"
        for (s, i), n in sorted(sessions.items()):
            if (s, i) != (site, sid):
                ctx.run.add("author", f"{s}/{i}", "one session", "fail",
                            f"expected every record in session {site}/{sid}, found {n} record(s) of {s}/{i}")
    unsigned = sum(1 for r in ctx.records.values() if r.site != SERVICE_SITE and not r.device_signed)
    if unsigned:
        ctx.run.add("author", "records", "device signatures", "note",
                    f"{unsigned} captured record(s) carry no device signature that holds: they rest on the "
                    "service's receipt alone")
    return facts
