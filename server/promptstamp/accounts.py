"""Accounts, API tokens and device keys, kept in the object store.

Tokens are random, shown once, and stored only as their SHA-256 (a leaked store does not leak
tokens). Everything is write-once like the evidence; a token lookup result is cached in memory,
which is safe because a stored token can never change. Whether it was revoked since is asked of
``Revocations`` on every use, which answers from the store at most ``REVOCATION_TTL_S`` late.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass

from .errors import AlreadyExists, InvalidInput, ObjectMissing, Unauthorized
from .model import utc_now
from .revocation import Revocations
from .signing import PublicKey, key_id, unb64
from .storage import ObjectStore

TOKEN_PREFIX = "ps_"
_TOKEN_RE = re.compile(r"^ps_[A-Za-z0-9_-]{43}$")
_ACCOUNT_RE = re.compile(r"^[0-9a-f]{24}$")
MAX_DEVICE_NAME = 200


def token_hash(token: str) -> str:
    """A token's id: the SHA-256 under which it is stored (the token itself never is)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _token_key(token: str) -> str:
    return f"tokens/{token_hash(token)}.json"


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    created_at: str
    contact: str | None = None  # optional, given at creation; the account record states the current one


@dataclass(frozen=True)
class TokenInfo:
    id: str  # the token's SHA-256
    created_at: str
    revoked: bool


@dataclass(frozen=True)
class Device:
    key: PublicKey
    name: str
    created_at: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key.id, "name": self.name, "created_at": self.created_at}


class Accounts:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.revocations = Revocations(store)
        self._token_cache: dict[str, str] = {}
        self._device_cache: dict[tuple[str, str], Device] = {}
        self._lock = threading.Lock()

    def create(self, name: str, contact: str | None = None) -> tuple[Account, str]:
        """Create an account and its first API token; the token is returned once and never stored."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("account name must be 1..200 characters")
        account = Account(id=secrets.token_hex(12), name=name, created_at=utc_now(),
                          contact=(contact or "").strip() or None)
        body = {k: v for k, v in account.__dict__.items() if v is not None}
        self._store.put(f"accounts/{account.id}.json", _json(body))
        return account, self.issue_token(account.id)

    def issue_token(self, account_id: str) -> str:
        self.get(account_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        body = _json({"account": account_id, "created_at": utc_now()})
        self._store.put(_token_key(token), body)
        # The account's own list of its tokens (by hash), so they can be listed and revoked by id.
        self._store.put(f"a/{account_id}/tokens/{token_hash(token)}.json", body)
        return token

    def tokens(self, account_id: str) -> list[TokenInfo]:
        """The account's tokens, oldest first. Tokens issued before per-account lists existed are found
        by reading every stored token (an operator's command, not a request path)."""
        self.get(account_id)
        found: dict[str, str] = {}
        prefix = f"a/{account_id}/tokens/"
        for key in self._store.list(prefix):
            found[key[len(prefix):].removesuffix(".json")] = json.loads(self._store.get(key))["created_at"]
        for key in self._store.list("tokens/"):
            hashed = key[len("tokens/"):].removesuffix(".json")
            if hashed not in found:
                data = json.loads(self._store.get(key))
                if data["account"] == account_id:
                    found[hashed] = data["created_at"]
        return sorted((TokenInfo(h, at, self.revocations.token_revoked(h)) for h, at in found.items()),
                      key=lambda t: (t.created_at, t.id))

    def revoke_token(self, account_id: str, token_or_id: str) -> TokenInfo:
        """Revoke one of the account's tokens, named by the token itself or by its id (or an unambiguous
        prefix of at least 8 hex characters, as ``accounts tokens list`` shows)."""
        wanted = token_hash(token_or_id) if token_or_id.startswith(TOKEN_PREFIX) else token_or_id.lower()
        if len(wanted) < 8:
            raise InvalidInput("name the token by the token itself or at least 8 characters of its id")
        mine = [t for t in self.tokens(account_id) if t.id.startswith(wanted)]
        if len(mine) != 1:
            raise InvalidInput(f"{'no' if not mine else 'more than one'} token of account {account_id} "
                               f"matches {token_or_id[:16]!r}; 'promptstamp accounts tokens list' shows them")
        self.revocations.revoke_token(mine[0].id, f"revoked for account {account_id}")
        return TokenInfo(mine[0].id, mine[0].created_at, True)

    def rotate_tokens(self, account_id: str) -> tuple[str, list[TokenInfo]]:
        """Issue a new token, then revoke every other token of the account; the new token is returned once."""
        new = self.issue_token(account_id)
        revoked = [self.revoke_token(account_id, t.id) for t in self.tokens(account_id)
                   if not t.revoked and t.id != token_hash(new)]
        return new, revoked

    def get(self, account_id: str) -> Account:
        if not _ACCOUNT_RE.match(account_id):
            raise InvalidInput(f"account id must be 24 hex characters, found {account_id!r}")
        data = json.loads(self._store.get(f"accounts/{account_id}.json"))
        return Account(id=data["id"], name=data["name"], created_at=data["created_at"], contact=data.get("contact"))

    def all(self) -> list[Account]:
        return [self.get(k.rsplit("/", 1)[1].removesuffix(".json")) for k in self._store.list("accounts/")]

    def authenticate(self, token: str | None) -> str:
        """The account id a bearer token belongs to; Unauthorized otherwise (same answer for all failures)."""
        if not token or not _TOKEN_RE.match(token):
            raise Unauthorized("missing or malformed API token; send 'Authorization: Bearer ps_…'")
        account = self._token_cache.get(token)
        if account is None:
            try:
                account = str(json.loads(self._store.get(_token_key(token)))["account"])
            except ObjectMissing as e:
                raise Unauthorized("unknown API token") from e
            with self._lock:
                self._token_cache[token] = account
        if self.revocations.token_revoked(token_hash(token)):
            raise Unauthorized("this API token was revoked; ask the account's owner for a new one")
        return account

    def register_device(self, account_id: str, public_key_b64: object, name: object) -> tuple[Device, bool]:
        """Register a device's Ed25519 key; returns the device and whether it was new."""
        if not isinstance(public_key_b64, str):
            raise InvalidInput("public_key: expected base64 of the raw 32-byte Ed25519 key")
        raw = unb64(public_key_b64, "public_key")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_DEVICE_NAME:
            raise InvalidInput(f"name: expected a device name of 1..{MAX_DEVICE_NAME} characters")
        device = Device(key=PublicKey(raw), name=name.strip(), created_at=utc_now())
        body = _json({"public_key": public_key_b64, "name": device.name, "created_at": device.created_at})
        try:
            self._store.put(f"a/{account_id}/devices/{device.key.id}.json", body)
        except AlreadyExists:
            return self.device(account_id, device.key.id), False
        return device, True

    def device(self, account_id: str, device_key_id: str) -> Device:
        cached = self._device_cache.get((account_id, device_key_id))
        if cached:
            return cached
        if not re.fullmatch(r"[0-9a-f]{16}", device_key_id):
            raise InvalidInput(f"device key id must be 16 hex characters, found {device_key_id!r:.40}")
        try:
            data = json.loads(self._store.get(f"a/{account_id}/devices/{device_key_id}.json"))
        except ObjectMissing as e:
            raise InvalidInput(
                f"device key {device_key_id} is not registered for this account; pair the device first",
                code="unknown_device",
            ) from e
        raw = unb64(data["public_key"], "stored device key")
        if key_id(raw) != device_key_id:
            raise InvalidInput(f"stored device key does not match its id {device_key_id}")
        device = Device(key=PublicKey(raw), name=data["name"], created_at=data["created_at"])
        with self._lock:
            self._device_cache[(account_id, device_key_id)] = device
        return device

    def devices(self, account_id: str) -> list[Device]:
        prefix = f"a/{account_id}/devices/"
        return [self.device(account_id, k[len(prefix):].removesuffix(".json")) for k in self._store.list(prefix)]
