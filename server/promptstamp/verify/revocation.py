"""A token's archived revocation data (``<tsa>.ocsp.json``), judged at its genTime without network.

Each archived OCSP response must answer for a certificate on the token's validated path, with that
path's next certificate as issuer, and be signed by that issuer or its designated responder
(``ocsp``). A certificate revoked at or before genTime, or later for a compromise, fails the token
with the revocation time and reason; the verdict names which certificates had no responder to ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .. import tsa_revocation
from ..errors import InvalidInput
from ..ocsp import judge
from .context import fail


def revocation_detail(data: bytes, chain: Sequence[bytes], gen_time: datetime) -> str:
    try:
        entries = tsa_revocation.decode(data, "revocation data")
        statuses = tsa_revocation.statuses(entries)
    except InvalidInput as e:
        raise fail(f"revocation data: {e.detail}") from e
    pairs = set(zip(chain, chain[1:], strict=False))
    notes = []
    for entry, status in zip(entries, statuses, strict=True):
        if (entry.cert, entry.issuer) not in pairs:
            raise fail("revocation data for a certificate that is not on the token's validated path")
        if status is None:
            notes.append("a certificate names no OCSP responder: its status is unknown")
            continue
        verdict = judge(status, gen_time)
        if not verdict.valid:
            raise fail(f"TSA certificate revoked: {verdict.detail}")
        notes.append(verdict.detail)
    return "revocation at genTime: " + "; ".join(notes) if notes else ""
