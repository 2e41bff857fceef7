"""Tokens from TSAs that answered after a batch was first stamped: every configured TSA, eventually.

A batch is acknowledged as soon as one TSA answers; a single TSA's certificate can later expire, be
revoked or its operator vanish, so each batch is stamped by every configured TSA in the end. Objects,
all write-once (keys in ``layout``):

* ``incomplete``: written *before* a stamp that lacks a configured TSA, so that recovery on any
  instance finds the batch from a listing alone: ``{"v": 1, "root": "sha256:..", "awaiting": [..]}``;
* the stamp itself names the same TSAs in ``awaiting`` (readers learn from one GET whether to look
  further);
* ``late/<tsa>``: one token, in the stamp's format, per TSA that answered afterwards;
* ``complete``: written once no configured TSA is missing. A TSA the operator removed from the
  configuration is no longer missing, so removing it closes its batches. A TSA added later stamps
  the batches sealed from then on; older batches are extended by archive time-stamps instead
  (asking a new TSA for the whole history at once would be a flood of requests for old roots).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from . import fastjson, layout
from .errors import ObjectMissing, StorageError
from .pack import StoredToken, decode_stamp, encode_stamp, stamp_awaiting
from .storage import ObjectStore


@dataclass(frozen=True)
class StampState:
    """What the store holds of a batch's tokens: the stamp's, then the late ones in TSA-name order."""

    tokens: tuple[StoredToken, ...]
    final: bool  # no TSA can add a token any more: the stamp awaited none, or ``complete`` is written

    def missing(self, configured: Collection[str]) -> list[str]:
        have = {t.tsa for t in self.tokens}
        return [name for name in configured if name not in have]


def encode_incomplete(root: str, awaiting: Sequence[str]) -> bytes:
    return fastjson.dumps({"v": 1, "root": root, "awaiting": sorted(awaiting)})


def incomplete_root(store: ObjectStore, batch_id: str) -> str:
    """The batch root an ``incomplete`` marker names (recovery asks the missing TSAs for it)."""
    key = layout.stamp_incomplete(batch_id)
    try:
        return str(fastjson.loads(store.get(key))["root"])
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(f"{key}: unreadable marker: {e}") from e


def read_state(store: ObjectStore, batch_id: str) -> StampState | None:
    """The batch's tokens in this layout, or None when it has no stamp (pending, or a previous layout)."""
    key = layout.stamp(batch_id)
    try:
        data = store.get(key)
    except ObjectMissing:
        return None
    tokens = list(decode_stamp(data, key))
    if not stamp_awaiting(data, key):
        return StampState(tuple(tokens), final=True)
    final = False
    have = {t.tsa for t in tokens}
    for late_key in sorted(store.list(layout.batch_prefix(batch_id))):
        if late_key == layout.stamp_complete(batch_id):
            final = True
        elif late_key.startswith(layout.late_prefix(batch_id)):
            for t in decode_stamp(store.get(late_key), late_key):
                if t.tsa not in have:  # one token per TSA: the first one stored counts
                    have.add(t.tsa)
                    tokens.append(t)
    return StampState(tuple(tokens), final=final)


def write_late(store: ObjectStore, batch_id: str, token: StoredToken) -> None:
    """Store one late token; another instance having stored this TSA's token first is fine."""
    store.put_many([(layout.late_token(batch_id, token.tsa), encode_stamp([token]))])


def write_complete(store: ObjectStore, batch_id: str) -> None:
    store.put_many([(layout.stamp_complete(batch_id), b'{"v":1}')])
