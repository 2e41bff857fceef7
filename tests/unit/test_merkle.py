import hashlib

import pytest

from promptstamp.errors import VerificationError
from promptstamp.merkle import MerkleTree, merkle_root, root_from_proof, verify_inclusion

# RFC 6962 / RFC 9162 known answers (certificate-transparency test vectors): the leaf inputs and the
# roots of the trees over their first n entries.
LEAVES = [bytes.fromhex(h) for h in
          ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_rfc_6962_known_answers(n: int) -> None:
    assert merkle_root(LEAVES[:n]).hex() == ROOTS[n - 1]
    assert MerkleTree(LEAVES[:n]).root.hex() == ROOTS[n - 1]


def test_one_record_batch_root_is_the_leaf_hash() -> None:
    digest = hashlib.sha256(b"record").digest()
    assert MerkleTree([digest]).root == hashlib.sha256(b"\x00" + digest).digest()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 100])
def test_every_inclusion_proof_leads_to_the_root(size: int) -> None:
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
    tree = MerkleTree(digests)
    for i, d in enumerate(digests):
        verify_inclusion(d, i, size, tree.proof(i), tree.root)


def test_known_inclusion_proof_for_leaf_0_of_8() -> None:
    # RFC 6962 test vector: inclusion proof of leaf 0 in the tree of size 8.
    tree = MerkleTree(LEAVES)
    assert [p.hex() for p in tree.proof(0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_proof_for_another_leaf_is_rejected() -> None:
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(10)]
    tree = MerkleTree(digests)
    with pytest.raises(VerificationError, match="leads to root"):
        verify_inclusion(digests[3], 4, 10, tree.proof(4), tree.root)


def test_proof_of_wrong_length_is_rejected_with_counts() -> None:
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(300)]
    tree = MerkleTree(digests)
    proof = tree.proof(5)
    with pytest.raises(VerificationError, match="too few"):
        root_from_proof(digests[5], 5, 300, proof[:-2])
    with pytest.raises(VerificationError, match="more than"):
        root_from_proof(digests[5], 5, 300, [*proof, proof[0]])
    with pytest.raises(VerificationError, match="outside"):
        root_from_proof(digests[5], 300, 300, proof)
