"""Ed25519 signatures and key ids (the only PyNaCl importer).

key id = first 16 hex of sha256(raw 32-byte public key) (DESIGN.md, "Keys"). Public keys travel as
SPKI PEM so that ``openssl pkeyutl -verify -rawin`` can check receipts without our code.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from .errors import ConfigError, InvalidInput, VerificationError

# RFC 8410 §4: SubjectPublicKeyInfo for Ed25519 is this fixed prefix followed by the 32-byte key.
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def fingerprint(public_key: bytes) -> str:
    """Full SHA-256 of the raw public key, colon-grouped for reading aloud or comparing by eye."""
    h = hashlib.sha256(public_key).hexdigest()
    return ":".join(h[i : i + 4] for i in range(0, 64, 4))


def spki_der(public_key: bytes) -> bytes:
    return _SPKI_PREFIX + public_key


def spki_pem(public_key: bytes) -> str:
    return der_to_pem(spki_der(public_key), "PUBLIC KEY")


def der_to_pem(der: bytes, label: str = "CERTIFICATE") -> str:
    text = base64.b64encode(der).decode("ascii")
    body = "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))  # RFC 7468 §2: 64 columns
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


def public_key_from_pem(pem: str | bytes) -> bytes:
    """The raw 32-byte key of an Ed25519 SPKI PEM; raise InvalidInput otherwise."""
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise InvalidInput("expected a PEM 'PUBLIC KEY' block")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII text
        raise InvalidInput(f"PEM body is not base64: {e}") from e
    if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
        raise InvalidInput("PEM is not an Ed25519 public key (RFC 8410 SPKI)")
    return der[12:]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidInput(f"{what}: expected a base64 string, found {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII text
        raise InvalidInput(f"{what}: not standard base64 with padding ({e})") from e


@dataclass(frozen=True)
class PublicKey:
    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise InvalidInput(f"Ed25519 public key must be 32 bytes, found {len(self.raw)}")

    @functools.cached_property
    def id(self) -> str:  # cached: the sealer names the key in every receipt
        return key_id(self.raw)

    @property
    def pem(self) -> str:
        return spki_pem(self.raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise VerificationError unless ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != 64:
            raise VerificationError(f"Ed25519 signature must be 64 bytes, found {len(signature)}")
        try:
            # libsodium's crypto_sign_open, which VerifyKey.verify wraps, without a key object per call
            # (a verifier checks two signatures per record).
            crypto_sign_open(signature + message, self.raw)
        except BadSignatureError as e:
            raise VerificationError(f"signature does not verify with key {self.id}") from e


class SigningKeyPair:
    """A service (or test device) Ed25519 key. Held in memory; persisted as a 32-byte seed."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ConfigError(f"Ed25519 seed must be 32 bytes, found {len(seed)}")
        self._key = SigningKey(seed)
        self.public = PublicKey(bytes(self._key.verify_key))

    @classmethod
    def generate(cls) -> SigningKeyPair:
        return cls(bytes(SigningKey.generate()))

    @property
    def id(self) -> str:
        return self.public.id

    @property
    def seed(self) -> bytes:
        return bytes(self._key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)
