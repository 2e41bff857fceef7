"""Check 7, who: one account, its account record, each device's pairing record, the site accounts.

DESIGN.md, second release: every receipt names the same account (a bundle is one author's evidence);
the account record states the owner's display name; each device key that signed a record is bound to
the account by a pairing record whose challenge, naming the account, the device key signed (proof of
possession). The service's own records (site ``promptstamp``) sit beside the captured session.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import PromptStampError
from ..model import SERVICE_RECORD_TYPES, Record
from ..statements import ACCOUNT_SESSION, SERVICE_SITE, check_pairing, device_session
from .context import Ctx, Step, fail


def check_author(ctx: Ctx) -> dict[str, object]:
    facts: dict[str, object] = {}
    account = _one_account(ctx, facts)
    sessions = Counter((r.site, r.session_id) for r in ctx.records.values() if r.site != SERVICE_SITE)
    if sessions:
        (site, sid), _ = sessions.most_common(1)[0]
        facts["session"] = f"{site}/{sid}"
        for (s, i), n in sorted(sessions.items()):
            if (s, i) != (site, sid):
                ctx.run.add("author", f"{s}/{i}", "one session", "fail",
                            f"expected every record in session {site}/{sid}, found {n} record(s) of {s}/{i}")
    _account_records(ctx, account, facts)
    _pairings(ctx, account, facts)
    _site_accounts(ctx, facts)
    unsigned = sum(1 for r in ctx.records.values() if r.site != SERVICE_SITE and not r.device_signed)
    if unsigned:
        ctx.run.add("author", "records", "device signatures", "note",
                    f"{unsigned} captured record(s) carry no device signature that holds: they rest on the "
                    "service's receipt alone")
    return facts


def _one_account(ctx: Ctx, facts: dict[str, object]) -> str | None:
    accounts = Counter(r.account for r in ctx.records.values() if r.account)
    if not accounts:
        return None
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
    return account


def _params(ctx: Ctx, step: Step) -> dict[str, Any]:
    known = ctx.parsed.get(step.id)
    rec = known[0] if known is not None else Record.from_canonical(ctx.files.data[f"records/{step.id}.json"])
    params = rec.value.get("params")
    return dict(params) if isinstance(params, dict) else {}


def _service_steps(ctx: Ctx, rtype: str) -> list[Step]:
    out = []
    for step in sorted(ctx.records.values(), key=lambda r: (r.session_id, r.seq, r.id)):
        subject = f"records/{step.id}.json"
        is_service_type = step.type in SERVICE_RECORD_TYPES
        if (step.site == SERVICE_SITE) != is_service_type:
            ctx.run.add("author", subject, "service record", "fail",
                        f"expected the types {list(SERVICE_RECORD_TYPES)} exactly in site {SERVICE_SITE}, found a "
                        f"{step.type} record of site {step.site}")
        elif step.type == rtype:
            out.append(step)
    return out


def _account_records(ctx: Ctx, account: str | None, facts: dict[str, object]) -> None:
    latest: tuple[Step, dict[str, Any]] | None = None
    for step in _service_steps(ctx, "account"):
        params = _params(ctx, step)

        def one(step: Step = step, params: dict[str, Any] = params) -> str:
            if step.session_id != ACCOUNT_SESSION:
                raise fail(f"expected session {SERVICE_SITE}/{ACCOUNT_SESSION}, found {step.session_id}")
            if params.get("account") != step.account:
                raise fail(f"expected the record to name account {step.account} (its receipt), found "
                           f"{params.get('account')!r}")
            return f"account {step.account} states the display name {params.get('display_name')!r}"

        if ctx.check("author", f"records/{step.id}.json", "account record", one) == "ok" and (
                latest is None or step.seq > latest[0].seq):
            latest = (step, params)
    if latest is None:
        if account is not None:
            ctx.run.add("author", f"account {account}", "account record", "note",
                        "the bundle holds no account record: who made it rests on the account id alone")
        return
    step, params = latest
    facts["display name"] = params.get("display_name")
    if params.get("contact"):
        facts["contact"] = params.get("contact")
    facts["display name rests on"] = (
        f"account record {step.id} (seq {step.seq}, {step.captured_at}): the owner's own statement through their "
        "signed-in account, received and signed by the service and time-stamped; not an identity check")


def _pairings(ctx: Ctx, account: str | None, facts: dict[str, object]) -> None:
    paired: dict[str, str] = {}
    for step in _service_steps(ctx, "pairing"):
        params = _params(ctx, step)

        def one(step: Step = step, params: dict[str, Any] = params) -> str:
            pairing = check_pairing(params)
            if step.session_id != device_session(pairing.device_key):
                raise fail(f"expected session {SERVICE_SITE}/{device_session(pairing.device_key)}, found "
                           f"{step.session_id}")
            if pairing.account != step.account:
                raise fail(f"expected the pairing to name account {step.account} (its receipt), found "
                           f"{pairing.account}")
            key = ctx.device_keys.get(pairing.device_key)
            if key is not None and key.raw != pairing.public_key:
                raise fail(f"expected keys/devices/{pairing.device_key}.pem to hold the paired key, found another")
            paired[pairing.device_key] = f"{pairing.device_name!r}, paired {step.captured_at}"
            return (f"device key {pairing.device_key} ({pairing.device_name!r}) signed the challenge naming account "
                    f"{pairing.account}, issued {pairing.issued_at}: possession proven")

        try:
            ctx.check("author", f"records/{step.id}.json", "pairing record", one)
        except PromptStampError as e:  # a malformed record is named, never a crash
            ctx.run.add("author", f"records/{step.id}.json", "pairing record", "fail", e.detail)
    for kid in sorted(ctx.used_device_keys):
        if kid not in paired:
            ctx.run.add("author", f"keys/devices/{kid}.pem", "device paired to the account", "fail",
                        f"expected a pairing record binding device key {kid} to account {account}, found none: "
                        "nothing shows the key that signed these records is the account's")
    if paired:
        facts["devices"] = [f"{kid} {what}" for kid, what in sorted(paired.items())]


def _site_accounts(ctx: Ctx, facts: dict[str, object]) -> None:
    seen: list[str] = []
    for step in sorted(ctx.records.values(), key=lambda r: (r.captured_at, r.id)):
        if step.type != "identity":
            continue
        params = _params(ctx, step)
        name = params.get("name") or params.get("email")
        label = f"{step.site} user {params.get('site_user_id')}" + (f" ({name})" if name else "")
        rests = "signed by the creator's device" if step.device_signed else "no device signature"
        entry = f"{label}: as the site reported it to the extension ({params.get('source', 'unknown source')}); {rests}"
        if entry not in seen:
            seen.append(entry)
    if seen:
        facts["site accounts"] = seen
