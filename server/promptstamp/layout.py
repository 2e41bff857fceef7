"""Where every object lives in the store: the one place that spells object keys.

Per account (``a/<account>/``): records (the exact RFC 8785 bytes), receipts, blobs, a session
index (one small object per session per batch, listing that batch's records of the session, so a
batch of N records of one session costs one index write, not N), devices, and a marker per batch
the account has records in.
Per batch (``batches/<id>/``, shared by accounts): the public batch.json, the internal journal
(the durability point of a group commit: everything needed to finish the batch after a crash),
the tokens with their TSA chains, and ``done`` once all of that is stored.
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


def session_index(account: str, site: str, session_id: str, batch_id: str) -> str:
    return session_prefix(account, site, session_id) + batch_id + ".json"


def account_batch(account: str, batch_id: str) -> str:
    return f"a/{account}/batches/{batch_id}"


BATCHES = "batches/"


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
