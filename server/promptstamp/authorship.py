"""Who made the evidence: the account record (display name, contact) and device pairing with proof of
possession, written as the service's own records through the ledger (signed receipt, batch, token).

The formats are in ``statements`` (no I/O) and docs/format.md; this module is the use cases.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

from .accounts import Accounts, Device
from .errors import InvalidInput, NotFound, VerificationError
from .keyring import Keyring
from .ledger import IngestResult, Ledger
from .model import Record, new_ulid, parse_timestamp, utc_now
from .signing import PublicKey, b64, unb64
from .statements import (
    ACCOUNT_SESSION,
    SERVICE_SITE,
    account_params,
    challenge_text,
    device_session,
    pairing_params,
    parse_challenge,
    service_record,
)

# How long a pairing challenge may be answered: long enough to type a token, short enough not to linger.
CHALLENGE_TTL = timedelta(minutes=10)


def _app() -> str:
    try:
        return f"promptstamp-service/{metadata.version('promptstamp')}"
    except metadata.PackageNotFoundError:
        return "promptstamp-service"


class Authorship:
    def __init__(self, ledger: Ledger, accounts: Accounts, keyring: Keyring) -> None:
        self._ledger = ledger
        self._accounts = accounts
        self._keyring = keyring
        self._has_account_record: set[str] = set()
        self._lock = threading.Lock()

    # -- the account record ------------------------------------------------------------------------

    def account_view(self, account: str) -> dict[str, Any]:
        """The latest account record's statement, or the account's creation name if none was stated yet."""
        latest = self._latest_account_record(account)
        if latest is None:
            acct = self._accounts.get(account)
            return {"account": account, "display_name": acct.name, "contact": None, "record": None}
        params = latest["params"]
        return {"account": account, "display_name": params["display_name"], "contact": params.get("contact"),
                "record": latest["id"], "stated_at": latest["captured_at"]}

    def state_account(self, account: str, display_name: object, contact: object) -> IngestResult:
        """The owner states their display name (and optionally a contact): a new account record in the chain."""
        params = account_params(account, display_name, contact)
        latest = self._latest_account_record(account)
        seq, prev = (1, None) if latest is None else (int(latest["seq"]) + 1, str(latest["_digest"]))
        record = service_record(new_ulid(), "account", ACCOUNT_SESSION, seq, prev, utc_now(), params, _app())
        results, _ = self._ledger.ingest(account, record, service=True)
        with self._lock:
            self._has_account_record.add(account)
        return results[0]

    def ensure_account_record(self, account: str) -> None:
        """Every account's evidence names its owner: the first upload states the name given at creation."""
        if account in self._has_account_record:
            return
        if self._latest_account_record(account) is None:
            acct = self._accounts.get(account)
            self.state_account(account, acct.name, acct.contact)
        with self._lock:
            self._has_account_record.add(account)

    def _latest_account_record(self, account: str) -> dict[str, Any] | None:
        try:
            ids = self._ledger.session_record_ids(account, SERVICE_SITE, ACCOUNT_SESSION)
        except NotFound:
            return None
        best: dict[str, Any] | None = None
        for rid in ids:
            view = self._ledger.record_view(account, rid)
            rec = view["record"]
            if best is None or rec["seq"] > best["seq"]:
                best = {**rec, "_digest": view["receipt"]["record"] if view["receipt"] else None}
        if best is not None and best["_digest"] is None:  # its receipt is still being written
            best["_digest"] = Record.from_json({k: v for k, v in best.items() if k != "_digest"}).digest
        return best

    # -- pairing -------------------------------------------------------------------------------------

    def challenge(self, account: str) -> dict[str, str]:
        """A challenge naming the account, signed by the service so that any instance can check it later."""
        self._accounts.get(account)
        text = challenge_text(account, secrets.token_hex(16), utc_now())
        key = self._keyring.signing_key
        return {"challenge": text, "service_key": key.id, "service_sig": b64(key.sign(text.encode("utf-8")))}

    def pair(self, account: str, body: dict[str, Any]) -> tuple[Device, bool]:
        """Register a device key once it has proven possession: its signature over our challenge for this account."""
        wanted = {"public_key", "name", "challenge", "challenge_sig", "service_key", "service_sig"}
        missing = sorted(wanted - set(body))
        if missing:
            raise InvalidInput(f"pairing needs {sorted(wanted)}; missing {missing}. Get a challenge from "
                               "POST /v1/devices/challenge and sign it with the device key", code="bad_challenge")
        text = body["challenge"]
        challenge = parse_challenge(text)
        if challenge.account != account:
            raise InvalidInput(f"challenge: issued for account {challenge.account}, not this account",
                               code="bad_challenge")
        try:
            service_key = self._keyring.public_key(str(body["service_key"]))
            service_key.verify(text.encode("utf-8"), unb64(body["service_sig"], "service_sig"))
        except (VerificationError, InvalidInput, NotFound) as e:
            raise InvalidInput("challenge: not one this service issued (its service signature does not verify)",
                               code="bad_challenge") from e
        issued = parse_timestamp(challenge.issued_at, "challenge issued")
        now = datetime.now(UTC)
        if not (issued - timedelta(seconds=5) <= now <= issued + CHALLENGE_TTL):
            raise InvalidInput(f"challenge: issued at {challenge.issued_at}, expired after "
                               f"{int(CHALLENGE_TTL.total_seconds())} s; ask for a new one", code="bad_challenge")
        raw = unb64(body["public_key"], "public_key")
        public = PublicKey(raw)
        signature = unb64(body["challenge_sig"], "challenge_sig")
        try:
            public.verify(text.encode("utf-8"), signature)
        except VerificationError as e:
            raise InvalidInput(f"challenge_sig: does not verify with the key being paired ({public.id}): "
                               "possession of the private key is not proven", code="bad_device_signature") from e
        device, created = self._accounts.register_device(account, body["public_key"], body["name"])
        if created or not self._has_pairing_record(account, device.key.id):
            params = pairing_params(account, raw, device.name, text, signature)
            record = service_record(new_ulid(), "pairing", device_session(device.key.id), 1, None, utc_now(),
                                    params, _app())
            self._ledger.ingest(account, record, service=True)
        return device, created

    def _has_pairing_record(self, account: str, key_id: str) -> bool:
        try:
            return bool(self._ledger.session_record_ids(account, SERVICE_SITE, device_session(key_id)))
        except NotFound:
            return False
