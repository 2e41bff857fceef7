"""The service's Ed25519 signing keys.

The current private key lives in a key file (0600; one per deployment, shared by every instance);
every public key ever used is published write-once in the object store under ``keys/<id>.pem``,
so receipts signed by a rotated-out key stay verifiable (DESIGN.md, "Keys").
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .errors import AlreadyExists, ConfigError
from .model import utc_now
from .signing import PublicKey, SigningKeyPair, b64, fingerprint, public_key_from_pem, unb64
from .storage import ObjectStore


def load_or_create_key(path: Path) -> SigningKeyPair:
    """Read the key file, or create it (with private permissions) on first run."""
    if path.exists():
        try:
            data = json.loads(path.read_text())
            return SigningKeyPair(unb64(data["seed"], f"key file {path}"))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"key file {path} is not a PromptStamp key file: {e}") from e
    key = SigningKeyPair.generate()
    write_key(path, key)
    return key


def write_key(path: Path, key: SigningKeyPair) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"v": 1, "alg": "ed25519", "seed": b64(key.seed), "key": key.id, "created_at": utc_now()})
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class KeyEntry:
    key: PublicKey
    current: bool

    def to_json(self) -> dict[str, object]:
        return {"key": self.key.id, "alg": "ed25519", "fingerprint": fingerprint(self.key.raw),
                "public_key": b64(self.key.raw), "pem": self.key.pem, "current": self.current}


def rotate_key(path: Path, store: ObjectStore) -> tuple[PublicKey, SigningKeyPair]:
    """Replace the key in ``path`` with a new one; returns (retired public key, new key pair).

    Both public keys are published (write-once) and read back before the key file changes, so no
    receipt can be signed by a key that verifiers cannot fetch, and the retired key keeps verifying
    every receipt it signed. The retired private key is not kept: old receipts need only its public half.
    """
    if not path.exists():
        raise ConfigError(f"key file {path} does not exist: nothing to rotate (start the service once, or check "
                          "--key-file / PROMPTSTAMP_KEY_FILE)")
    old = load_or_create_key(path)
    new = SigningKeyPair.generate()
    keyring = Keyring(store, old)
    keyring.publish(new.public)
    for key in (old.public, new.public):
        if public_key_from_pem(store.get(layout.public_key(key.id))) != key.raw:
            raise ConfigError(f"keys/{key.id}.pem in the store does not hold key {key.id}; key file left unchanged")
    write_key(path, new)
    return old.public, new


class Keyring:
    def __init__(self, store: ObjectStore, signing_key: SigningKeyPair) -> None:
        self._store = store
        self.signing_key = signing_key
        self.publish(signing_key.public)

    def publish(self, key: PublicKey) -> None:
        try:
            self._store.put(layout.public_key(key.id), key.pem.encode())
        except AlreadyExists:
            pass

    def signing_key_published(self) -> bool:
        """Whether the store holds the current key's public half (a read that proves the store answers)."""
        return self._store.exists(layout.public_key(self.signing_key.id))

    def public_key(self, key_id: str) -> PublicKey:
        if key_id == self.signing_key.id:
            return self.signing_key.public
        return PublicKey(public_key_from_pem(self._store.get(layout.public_key(key_id))))

    def entries(self) -> list[KeyEntry]:
        out = []
        for k in self._store.list(layout.KEYS):
            key = PublicKey(public_key_from_pem(self._store.get(k)))
            out.append(KeyEntry(key=key, current=key.id == self.signing_key.id))
        return sorted(out, key=lambda e: (not e.current, e.key.id))
