"""Where every object lives in the store: the one place that spells object keys.

A sealed batch is a fixed number of write-once objects whatever its size (formats in ``pack``):
``batches/<id>/pack`` (its records and receipts), ``batches/<id>/stamp`` (its tokens, once a TSA
answered), and per account it touches one index segment per session
(``a/<account>/sessions/<site>/<session>/s<number>.idx``, numbered in the session's order) and one
record locator per record-id prefix (``a/<account>/ids/<prefix>/<batch>.loc``).
Per account besides: blobs with their metadata, and devices.

The previous release wrote one object per record and per receipt, a per-batch session index
(``.../<session>/<batch>.json``), an account batch marker, and per batch batch.json, journal.json,
tokens/ and ``done``. Those keys are still spelled here, read, and finished by recovery.
"""

from __future__ import annotations

import hashlib
import re

_PLAIN_SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def session_key(session_id: str) -> str:
    """A storage-safe name for a site's session id; readable when the id already is."""
    if _PLAIN_SESSION_RE.match(session_id):
        return session_id
    # Plain names never start with '_', so hashed names cannot collide with them.
    return "_h" + hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:48]


def record(account: str, record_id: str) -> str:
    return f"a/{account}/records/{record_id}.json"


def receipt(account: str, record_id: str) -> str:
    return f"a/{account}/receipts/{record_id}.json"


def blob(account: str, hex_digest: str) -> str:
    return f"a/{account}/blobs/{hex_digest}"


def blob_meta(account: str, hex_digest: str) -> str:
    return f"a/{account}/blobs/{hex_digest}.meta.json"


def sessions_prefix(account: str) -> str:
    return f"a/{account}/sessions/"


def session_prefix(account: str, site: str, session_id: str) -> str:
    return f"a/{account}/sessions/{site}/{session_key(session_id)}/"


def session_segment(account: str, site: str, session_id: str, number: int) -> str:
    """The session's index segment ``number`` (1, 2, ...): zero-padded so key order is segment order."""
    return session_prefix(account, site, session_id) + f"s{number:08d}.idx"


def segment_number(key: str) -> int | None:
    """The number of a segment key, or None for a previous release's per-batch index object."""
    name = key.rsplit("/", 1)[1]
    if name.startswith("s") and name.endswith(".idx") and name[1:-4].isdigit():
        return int(name[1:-4])
    return None


def legacy_index_batch(key: str) -> str | None:
    """The batch id a previous release's per-batch session index object is named after."""
    name = key.rsplit("/", 1)[1]
    return name[:-5] if name.endswith(".json") else None


# Record ids are ULIDs; their first 6 characters (28 bits of capture time, about 17 minutes)
# spread an account's locators so that finding one id lists one short prefix.
LOCATOR_PREFIX_CHARS = 6


def locators_prefix(account: str, record_id: str) -> str:
    return f"a/{account}/ids/{record_id[:LOCATOR_PREFIX_CHARS]}/"


def locator(account: str, record_id: str, batch_id: str) -> str:
    return locators_prefix(account, record_id) + batch_id + ".loc"


def session_index(account: str, site: str, session_id: str, batch_id: str) -> str:
    """The previous release's per-batch session index object (read, never written)."""
    return session_prefix(account, site, session_id) + batch_id + ".json"


def account_batch(account: str, batch_id: str) -> str:
    return f"a/{account}/batches/{batch_id}"


BATCHES = "batches/"


def batch_prefix(batch_id: str) -> str:
    return f"batches/{batch_id}/"


def pack(batch_id: str) -> str:
    return f"batches/{batch_id}/pack"


def stamp(batch_id: str) -> str:
    return f"batches/{batch_id}/stamp"


# A batch whose first stamp lacks a configured TSA (``late_stamps``): the marker written before that
# stamp, one late token per TSA that answered afterwards, and the marker that closes the batch.


def stamp_incomplete(batch_id: str) -> str:
    return f"batches/{batch_id}/incomplete"


def late_prefix(batch_id: str) -> str:
    return f"batches/{batch_id}/late/"


def late_token(batch_id: str, tsa: str) -> str:
    return f"batches/{batch_id}/late/{tsa}"


def stamp_complete(batch_id: str) -> str:
    return f"batches/{batch_id}/complete"


REVOCATION_WANTED = "revocation-wanted/"


def revocation_wanted(batch_id: str, tsa: str) -> str:
    """Written when a token's revocation data could not be fetched at once: its chain, to ask again."""
    return f"batches/{batch_id}/{REVOCATION_WANTED}{tsa}"


def revocation_prefix(batch_id: str) -> str:
    return f"batches/{batch_id}/revocation/"


def revocation(batch_id: str, tsa: str) -> str:
    """A TSA's revocation data (``tsa_revocation``) for its token over the batch."""
    return f"batches/{batch_id}/revocation/{tsa}"


# -- the previous release's per-batch objects ---------------------------------------------------------


def batch_json(batch_id: str) -> str:
    return f"batches/{batch_id}/batch.json"


def journal(batch_id: str) -> str:
    return f"batches/{batch_id}/journal.json"


def batch_done(batch_id: str) -> str:
    return f"batches/{batch_id}/done"


def tokens_prefix(batch_id: str) -> str:
    return f"batches/{batch_id}/tokens/"


def token(batch_id: str, tsa: str) -> str:
    return f"batches/{batch_id}/tokens/{tsa}.tst"


def token_chain(batch_id: str, tsa: str) -> str:
    return f"batches/{batch_id}/tokens/{tsa}-chain.pem"


# -- the service's published public keys --------------------------------------------------------------

KEYS = "keys/"


def public_key(key_id: str) -> str:
    return f"keys/{key_id}.pem"


# -- archive time-stamps (``renewal``) -----------------------------------------------------------------

RENEWAL_RUNS = "renewals/runs/"


def renewal_run(run_id: str) -> str:
    """A renewal's manifest: written last, so a renewal exists once this object does."""
    return f"{RENEWAL_RUNS}{run_id}.json"


def renewal_segment(run_id: str, number: int) -> str:
    """Up to ``renewal.SEGMENT_LEAVES`` of the renewal's groups (what it covers), in id order."""
    return f"renewals/segments/{run_id}/{number:08d}.json"


def renewal_claim(period: str) -> str:
    """Taken (conditional create) by the one instance whose periodic job renews in ``period``."""
    return f"renewals/claims/{period}"
