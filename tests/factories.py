"""Builders for valid records, chained sessions and signed envelopes, as the extension makes them."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from promptstamp.canonical import canonicalize, digest_of
from promptstamp.model import new_ulid, utc_now
from promptstamp.signing import SigningKeyPair, b64


class Device:
    """A paired device: its own Ed25519 key, registered with the service."""

    def __init__(self) -> None:
        self.key = SigningKeyPair.generate()

    @property
    def id(self) -> str:
        return self.key.id

    @property
    def public_b64(self) -> str:
        return b64(self.key.public.raw)

    def pairing(self, challenge: dict[str, str], name: str = "Chromium on test") -> dict[str, Any]:
        """The pairing request: the key, and its signature over the service's challenge (proof of possession)."""
        return {"public_key": self.public_b64, "name": name, **challenge,
                "challenge_sig": b64(self.key.sign(challenge["challenge"].encode()))}

    def pair(self, api: Any, name: str = "Chromium on test") -> Any:
        """Pair through the API as the extension does: ask for a challenge, sign it, register."""
        challenge = api.post("/v1/devices/challenge").get_json()
        return api.post("/v1/devices", self.pairing(challenge, name))

    def envelope(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"record": record, "device_sig": {"key": self.id, "sig": b64(self.key.sign(canonicalize(record)))}}


class Chain:
    """One session on one device: seq and prev computed exactly as the extension does."""

    def __init__(self, site: str = "chatgpt", session_id: str | None = None, device: Device | None = None) -> None:
        self.site = site
        self.session_id = session_id or "conv-" + new_ulid().lower()
        self.device = device
        self.seq = 0
        self.prev: str | None = None

    def next(
        self, type: str = "prompt", *, actor: str = "user", text: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        self.seq += 1
        record: dict[str, Any] = {
            "v": 1, "id": new_ulid(), "type": type,
            "session": {"site": self.site, "id": self.session_id, "title": "Teacup cat",
                        "url": f"https://{self.site}.example/c/{self.session_id}"},
            "seq": self.seq, "prev": self.prev, "captured_at": utc_now(), "actor": actor,
            "client": {"app": "promptstamp-tests/1", "adapter": f"{self.site}@1"},
            **fields,
        }
        if text is not None:
            record["text"] = text
        if self.device is not None:
            record["client"]["device"] = self.device.id
        self.prev = digest_of(record)
        return record

    def wrap(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.device.envelope(record) if self.device else record


def attachment(data: bytes, media_type: str = "image/png", role: str = "output") -> dict[str, Any]:
    return {"digest": "sha256:" + hashlib.sha256(data).hexdigest(), "media_type": media_type,
            "bytes": len(data), "role": role}


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A valid PNG of one colour, so tests that handle "an image" handle a real one."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def trusted_but_for_the_dev_tsa(report: Any) -> bool:
    """Every check holds, and what is untrusted is only the development TSA's tokens (by their policy).

    The built-in TSA's tokens are untrusted wherever they come from, even with its root given; a test
    that gives every anchor can expect no more than this.
    """
    from promptstamp.tokens import DEV_TSA_POLICY

    untrusted_anchors = [r for r in report.rests_on if r.startswith("UNTRUSTED")]
    return (report.exit_code == 2 and not report.failures and bool(untrusted_anchors)
            and all(DEV_TSA_POLICY in r for r in untrusted_anchors))
