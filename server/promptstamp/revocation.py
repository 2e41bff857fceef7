"""Revoked API tokens and signed-out dashboard sessions, on a write-once store.

Nothing is ever deleted or overwritten, so a revocation is a marker object whose existence is the
fact: ``revoked/tokens/<token hash>.json`` for an API token, ``revoked/signins/<sign-in id>.json`` for a
dashboard sign-in ended by "Sign out". Every instance reads the same store, and no answer is reused
for longer than ``REVOCATION_TTL_S``: a revocation takes effect on every instance and worker within
that time (the README states it). The markers name who revoked and when, for the operator's audit.
"""

from __future__ import annotations

import json
import re
import threading
import time

from .errors import AlreadyExists, InvalidInput
from .model import utc_now
from .storage import ObjectStore

REVOCATION_TTL_S = 10.0
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_SIGNIN_RE = re.compile(r"^[0-9a-f]{32}$")


class Revocations:
    def __init__(self, store: ObjectStore, ttl_s: float = REVOCATION_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._checked: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _token_key(token_hash: str) -> str:
        if not _HASH_RE.match(token_hash):
            raise InvalidInput(f"token id must be 64 lowercase hex characters, found {token_hash!r:.80}")
        return f"revoked/tokens/{token_hash}.json"

    @staticmethod
    def _signin_key(signin_id: str) -> str:
        if not _SIGNIN_RE.match(signin_id):
            raise InvalidInput("sign-in id must be 32 lowercase hex characters")
        return f"revoked/signins/{signin_id}.json"

    def _mark(self, key: str, why: str) -> bool:
        """Write the marker; False if it was already there (revoking twice is not an error)."""
        try:
            self._store.put(key, json.dumps({"at": utc_now(), "why": why}, sort_keys=True).encode())
        except AlreadyExists:
            return False
        finally:
            with self._lock:
                self._checked.pop(key, None)
        return True

    def _is_marked(self, key: str) -> bool:
        now = time.monotonic()
        cached = self._checked.get(key)
        # A revocation is final: once seen, it needs no further look.
        if cached is not None and (cached[0] or now - cached[1] < self._ttl_s):
            return cached[0]
        marked = self._store.exists(key)
        with self._lock:
            self._checked[key] = (marked, now)
        return marked

    def revoke_token(self, token_hash: str, why: str) -> bool:
        return self._mark(self._token_key(token_hash), why)

    def token_revoked(self, token_hash: str) -> bool:
        return self._is_marked(self._token_key(token_hash))

    def sign_out(self, signin_id: str) -> None:
        self._mark(self._signin_key(signin_id), "signed out")

    def signed_out(self, signin_id: str) -> bool:
        return self._is_marked(self._signin_key(signin_id))
