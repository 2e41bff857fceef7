"""RFC 9162 (Certificate Transparency v2) Merkle trees over record digests.

leaf = SHA-256(0x00 || 32-byte record digest); node = SHA-256(0x01 || left || right); the tree
shape (split at the largest power of two smaller than n) and inclusion proofs follow RFC 9162 §2.1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .errors import VerificationError


def leaf_hash(record_digest: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record_digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (RFC 9162 §2.1.1), for n >= 2."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(_root_of_leaves(leaves[:k]), _root_of_leaves(leaves[k:]))


class MerkleTree:
    """A finished batch tree: its root and an inclusion proof for every leaf, computed once."""

    def __init__(self, record_digests: Sequence[bytes]) -> None:
        if not record_digests:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.size = len(record_digests)
        self._leaves = [leaf_hash(d) for d in record_digests]
        self._proofs: list[list[bytes]] = [[] for _ in range(self.size)]
        self.root = self._build(0, self.size)

    def _build(self, start: int, end: int) -> bytes:
        # Builds the subtree over leaves[start:end] and appends, to every leaf's proof, the sibling
        # hash at each level: one pass gives all proofs (RFC 9162 §2.1.3.1, PATH).
        if end - start == 1:
            return self._leaves[start]
        mid = start + _split(end - start)
        left = self._build(start, mid)
        right = self._build(mid, end)
        for i in range(start, mid):
            self._proofs[i].append(right)
        for i in range(mid, end):
            self._proofs[i].append(left)
        return node_hash(left, right)

    def proof(self, index: int) -> list[bytes]:
        return list(self._proofs[index])


def merkle_root(record_digests: Sequence[bytes]) -> bytes:
    return _root_of_leaves([leaf_hash(d) for d in record_digests])


def root_from_proof(record_digest: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Recompute the root from an inclusion proof (RFC 9162 §2.1.3.2); raise if it cannot fit."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf_hash(record_digest)
    for p in proof:
        if sn == 0:
            raise VerificationError(
                f"inclusion proof has {len(proof)} nodes, more than a tree of size {size} needs"
            )
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"inclusion proof has {len(proof)} nodes, too few for a tree of size {size}")
    return r


def verify_inclusion(record_digest: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    computed = root_from_proof(record_digest, index, size, proof)
    if computed != root:
        raise VerificationError(
            f"inclusion proof leads to root {computed.hex()}, batch root is {root.hex()}"
        )
