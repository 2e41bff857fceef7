"""The service's own records: the account record (who) and the pairing record (which device key is whose).

They are records like any other (RFC 8785 bytes, a signed receipt, a batch, an RFC 3161 token), kept in
sessions of the reserved site ``promptstamp`` so that they never mix with a captured session and no
client can send one (docs/format.md, "Account record" and "Pairing record"). No I/O here: building,
reading and checking them is shared by the service and the verifier.

Pairing proves possession: the device signs a challenge the service issued that names the account,
so nobody can register a key they do not hold, nor carry a pairing over to another account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import signing
from .errors import InvalidInput, VerificationError
from .model import TIMESTAMP_RE

SERVICE_SITE = "promptstamp"
ACCOUNT_SESSION = "account"
DEVICE_SESSION_PREFIX = "device-"  # one session per paired device: "device-<key id>", a single record
CHALLENGE_PREFIX = "promptstamp-pairing v1"
MAX_DISPLAY_NAME = 200
MAX_CONTACT = 320
# Plain text, so that a person and verify.sh read it without a JSON parser:
#   promptstamp-pairing v1 account <account id> nonce <32 hex> issued <RFC 3339 UTC, ms>
_CHALLENGE_RE = re.compile(r"^promptstamp-pairing v1 account ([A-Za-z0-9_-]{1,64}) nonce ([0-9a-f]{32}) "
                           r"issued (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def device_session(key_id: str) -> str:
    return DEVICE_SESSION_PREFIX + key_id


def challenge_text(account: str, nonce_hex: str, issued_at: str) -> str:
    text = f"{CHALLENGE_PREFIX} account {account} nonce {nonce_hex} issued {issued_at}"
    parse_challenge(text)
    return text


@dataclass(frozen=True)
class Challenge:
    account: str
    nonce: str
    issued_at: str


def parse_challenge(text: object) -> Challenge:
    if not isinstance(text, str):
        raise InvalidInput("challenge: expected the text the service issued", code="bad_challenge")
    m = _CHALLENGE_RE.match(text)
    if not m or not TIMESTAMP_RE.match(m.group(3)):
        raise InvalidInput(f"challenge: expected '{CHALLENGE_PREFIX} account <id> nonce <32 hex> issued <time>', "
                           f"found {text[:120]!r}", code="bad_challenge")
    return Challenge(m.group(1), m.group(2), m.group(3))


def clean_text(value: object, what: str, max_len: int, *, required: bool) -> str | None:
    """A display name or contact as the owner typed it: one line, trimmed, no control characters."""
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput(f"{what}: expected 1..{max_len} characters, found none")
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_len:
        raise InvalidInput(f"{what}: expected 1..{max_len} characters, found {str(value)[:40]!r}")
    if _CONTROL_RE.search(value):
        raise InvalidInput(f"{what}: expected one line of text, found a control character")
    return value.strip()


def account_params(account: str, display_name: object, contact: object) -> dict[str, str]:
    params = {"account": account,
              "display_name": clean_text(display_name, "display_name", MAX_DISPLAY_NAME, required=True) or ""}
    contact_text = clean_text(contact, "contact", MAX_CONTACT, required=False)
    if contact_text:
        params["contact"] = contact_text
    return params


def pairing_params(account: str, public_key: bytes, device_name: str, challenge: str,
                   challenge_sig: bytes) -> dict[str, str]:
    return {"account": account, "device_key": signing.key_id(public_key), "public_key": signing.b64(public_key),
            "device_name": device_name, "challenge": challenge, "challenge_sig": signing.b64(challenge_sig)}


def service_record(record_id: str, rtype: str, session_id: str, seq: int, prev: str | None, captured_at: str,
                   params: Mapping[str, str], app: str) -> dict[str, Any]:
    """A record the service writes for the account's owner (actor ``user``: the owner set or asked for it)."""
    return {"v": 1, "id": record_id, "type": rtype, "session": {"site": SERVICE_SITE, "id": session_id},
            "seq": seq, "prev": prev, "captured_at": captured_at, "actor": "user", "params": dict(params),
            "client": {"app": app}}


@dataclass(frozen=True)
class Pairing:
    """What a pairing record proves once checked: this key, held by its device, was paired to this account."""

    account: str
    device_key: str
    public_key: bytes
    device_name: str
    issued_at: str


def check_pairing(params: Mapping[str, Any]) -> Pairing:
    """The pairing record's proof of possession: the device key signed the challenge naming the account.

    Raises VerificationError naming what does not hold.
    """
    try:
        raw = signing.unb64(str(params.get("public_key", "")), "pairing public_key")
        public = signing.PublicKey(raw)
        challenge = parse_challenge(params.get("challenge"))
        sig = signing.unb64(str(params.get("challenge_sig", "")), "pairing challenge_sig")
    except InvalidInput as e:
        raise VerificationError(f"pairing record: {e.detail}") from e
    if params.get("device_key") != public.id:
        raise VerificationError(f"pairing record: expected device_key {public.id} (its public key), "
                                f"found {params.get('device_key')!r}")
    if challenge.account != params.get("account"):
        raise VerificationError(f"pairing record: the challenge names account {challenge.account}, the record "
                                f"names {params.get('account')!r}")
    try:
        public.verify(str(params["challenge"]).encode("utf-8"), sig)
    except VerificationError as e:
        raise VerificationError(f"pairing record: the challenge signature does not verify with device key "
                                f"{public.id}: possession of the key is not proven") from e
    return Pairing(challenge.account, public.id, raw, str(params.get("device_name", "")), challenge.issued_at)
