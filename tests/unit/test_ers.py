"""RFC 4998 evidence records (``ers``): the hash tree, reduced trees, and the DER encoding, checked
against an independent decoder (pyasn1-alt-modules' ``rfc4998``, transcribed from the RFC's module)."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import tsp
from pyasn1.codec.der import decoder, encoder
from pyasn1_alt_modules import rfc4998

from promptstamp import ers
from promptstamp.devtsa import DevTsa
from promptstamp.errors import InvalidInput


def h(*parts: int) -> bytes:
    return hashlib.sha256(bytes(parts)).digest()


def test_known_answer_two_groups_and_a_lone_node() -> None:
    # Three groups: a pair hashed together, the third moves up unchanged, then the root (RFC 4998 §4.2).
    groups = [[h(1), h(2)], [h(3)], [h(4), h(5), h(6)]]
    nodes = [ers.hash_list(g) for g in groups]
    root, paths = ers.tree(nodes)
    pair = hashlib.sha256(b"".join(sorted(nodes[:2]))).digest()
    assert root == hashlib.sha256(b"".join(sorted([pair, nodes[2]]))).digest()
    assert paths == [[nodes[1], nodes[2]], [nodes[0], nodes[2]], [pair]]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64, 129])
def test_every_member_of_every_group_leads_to_the_root(count: int) -> None:
    groups = [[h(i, j) for j in range(1 + i % 3)] for i in range(count)]
    root, paths = ers.tree([ers.hash_list(g) for g in groups])
    for group, path in zip(groups, paths, strict=True):
        reduced = ers.reduced_tree(group, path)
        for member in group:
            assert ers.root_of(reduced, member) == root


def test_a_hash_outside_the_first_list_or_an_altered_sibling_is_refused() -> None:
    groups = [[h(1)], [h(2)], [h(3)]]
    root, paths = ers.tree([ers.hash_list(g) for g in groups])
    reduced = ers.reduced_tree(groups[0], paths[0])
    with pytest.raises(InvalidInput, match="not among the first list"):
        ers.root_of(reduced, h(9))
    altered = [reduced[0], [h(7)], *reduced[2:]]
    assert ers.root_of(altered, h(1)) != root


def stamp_over(tsa: DevTsa, digest: bytes) -> bytes:
    request = tsp.TimeStampReq({"version": 1, "cert_req": True, "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest}})
    return tsa.token_for(request)


def test_the_encoding_round_trips_byte_for_byte_and_an_independent_decoder_reads_it(tmp_path) -> None:  # noqa: ANN001
    tsa = DevTsa.load_or_create(tmp_path)
    groups = [[h(1), h(2)], [h(3)]]
    root, paths = ers.tree([ers.hash_list(g) for g in groups])
    first = ers.ArchiveStamp(reduced=tuple(map(tuple, ers.reduced_tree(groups[0], paths[0]))),
                             token=stamp_over(tsa, root), certificates=tuple(tsa.chain_der))
    second = ers.ArchiveStamp(reduced=((ers.sha256(first.token),),), token=stamp_over(tsa, ers.hash_list(
        [ers.sha256(first.token)])))
    der = ers.encode([first, second])
    assert ers.decode(der) == [first, second]  # the tokens' bytes exactly: signatures must survive

    record, rest = decoder.decode(der, asn1Spec=rfc4998.EvidenceRecord())
    assert not rest and encoder.encode(record) == der
    chain = record["archiveTimeStampSequence"][0]
    assert len(chain) == 2
    assert [bytes(x) for x in chain[0]["reducedHashtree"][0]] == list(first.reduced[0])
    assert encoder.encode(chain[1]["timeStamp"]) == second.token


@pytest.mark.parametrize("der", [b"", b"\x30\x00", b"\x30\x03\x02\x01\x02", b"not der at all"])
def test_malformed_records_are_refused_with_a_reason(der: bytes) -> None:
    with pytest.raises(InvalidInput, match="evidence record|EvidenceRecord|archive time-stamp"):
        ers.decode(der)
