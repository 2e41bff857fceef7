"""RFC 4998 Evidence Record Syntax: the archive time-stamps that keep a batch's proof alive after the
certificates of its TSAs expire or are revoked. No I/O.

How it is used (``renewal`` writes, the verifiers read; docs/format.md §10):

* A *renewal* time-stamps one hash tree over many data-object groups (RFC 4998 §4.2). A batch is one
  group: the SHA-256 of each of its bundle files ``<tsa>.tst``, ``<tsa>-chain.pem`` and
  ``<tsa>.ocsp.json`` that existed when it was renewed. An earlier renewal is a group of one: the
  SHA-256 of its time-stamp token's DER (the ``timeStamp`` field of its archive time-stamp, RFC 4998
  §5.2, "Timestamp Renewal").
* The tree: each group's node is the hash of its member hashes sorted in binary ascending order and
  concatenated; nodes are paired level by level and each parent is the hash of its two children,
  sorted and concatenated; a lone node at the end of a level moves up unchanged. A reduced hash tree
  (RFC 4998 §4.2) lists the group's hashes first and then, level by level, the sibling on the way up;
  verification (§4.3) hashes each list together with the value from the list below.
* A batch's evidence record (``batches/<id>/evidence.ers``, DER) holds one ArchiveTimeStampChain:
  the archive time-stamp of the renewal that first covered the batch, then one per renewal of that
  renewal's token, each with its reduced hash tree and, as attributes, the renewing TSA's
  certificates (CAdES ``certValues``) and their OCSP responses (CAdES ``revocationValues``), so
  that it can be checked at its own time without network access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms, core, ocsp, x509

from .errors import InvalidInput

# CAdES attribute types (ETSI TS 101 733 / EN 319 122-1): complete certificate and revocation values.
CERT_VALUES_OID = "1.2.840.113549.1.9.16.2.23"
REVOCATION_VALUES_OID = "1.2.840.113549.1.9.16.2.24"
SHA256_OID = "2.16.840.1.101.3.4.2.1"
MAX_TREE_DEPTH = 64  # 2^64 leaves: a deeper reduced hash tree is malformed, not big


class PartialHashtree(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = core.OctetString


class ReducedHashtree(core.SequenceOf):  # type: ignore[misc]
    _child_spec = PartialHashtree


class AttributeValues(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class Attribute(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("values", AttributeValues)]


class Attributes(core.SetOf):  # type: ignore[misc]
    _child_spec = Attribute


class ArchiveTimeStamp(core.Sequence):  # type: ignore[misc]
    # The ERS module is DEFINITIONS IMPLICIT TAGS (RFC 4998 Appendix A).
    _fields = [
        ("digest_algorithm", algos.DigestAlgorithm, {"implicit": 0, "optional": True}),
        ("attributes", Attributes, {"implicit": 1, "optional": True}),
        ("reduced_hashtree", ReducedHashtree, {"implicit": 2, "optional": True}),
        ("time_stamp", cms.ContentInfo),
    ]


class ArchiveTimeStampChain(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ArchiveTimeStamp


class ArchiveTimeStampSequence(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ArchiveTimeStampChain


class DigestAlgorithms(core.SequenceOf):  # type: ignore[misc]
    _child_spec = algos.DigestAlgorithm


class CryptoInfos(core.SequenceOf):  # type: ignore[misc]
    _child_spec = Attribute


class EncryptionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any)]


class EvidenceRecord(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("version", core.Integer),
        ("digest_algorithms", DigestAlgorithms),
        ("crypto_infos", CryptoInfos, {"implicit": 0, "optional": True}),
        ("encryption_info", EncryptionInfo, {"implicit": 1, "optional": True}),
        ("archive_time_stamp_sequence", ArchiveTimeStampSequence),
    ]


class Certificates(core.SequenceOf):  # type: ignore[misc]
    _child_spec = x509.Certificate


class BasicResponses(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ocsp.BasicOCSPResponse


class RevocationValues(core.Sequence):  # type: ignore[misc]
    # ETSI TS 101 733 (explicit-tag module): crlVals [0], ocspVals [1], otherRevVals [2].
    _fields = [
        ("crl_vals", core.SequenceOf, {"explicit": 0, "optional": True}),
        ("ocsp_vals", BasicResponses, {"explicit": 1, "optional": True}),
        ("other_rev_vals", core.Any, {"explicit": 2, "optional": True}),
    ]


# --- the hash tree ------------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_list(hashes: Sequence[bytes]) -> bytes:
    """RFC 4998 §4.2: the hash of the values sorted in binary ascending order and concatenated."""
    return sha256(b"".join(sorted(hashes)))


def tree(nodes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over ``nodes`` and, for each node, its siblings from the bottom up (one per level at
    which it was paired; a lone node moves up unchanged, so it has no sibling at that level)."""
    if not nodes:
        raise ValueError("a hash tree needs at least one node")
    paths: list[list[bytes]] = [[] for _ in nodes]
    members = [[i] for i in range(len(nodes))]  # which original nodes sit below each current node
    level = list(nodes)
    while len(level) > 1:
        up: list[bytes] = []
        up_members: list[list[int]] = []
        for i in range(0, len(level) - 1, 2):
            left, right = level[i], level[i + 1]
            for j in members[i]:
                paths[j].append(right)
            for j in members[i + 1]:
                paths[j].append(left)
            up.append(hash_list((left, right)))
            up_members.append(members[i] + members[i + 1])
        if len(level) % 2:
            up.append(level[-1])
            up_members.append(members[-1])
        level, members = up, up_members
    return level[0], paths


def reduced_tree(group: Sequence[bytes], *sibling_paths: Sequence[bytes]) -> list[list[bytes]]:
    """The reduced hash tree of a group: its member hashes, then one list per sibling on the way up
    (through each tree the group's node passed, bottom first)."""
    return [sorted(group)] + [[s] for path in sibling_paths for s in path]


def root_of(reduced: Sequence[Sequence[bytes]], digest: bytes) -> bytes:
    """RFC 4998 §4.3 steps 1-3: the root a reduced hash tree leads to from ``digest``; raises if the
    first list does not hold ``digest``. An absent tree (no lists) means the data was stamped directly."""
    if not reduced:
        return digest
    if digest not in reduced[0]:
        raise InvalidInput("the hash is not among the first list of the reduced hash tree")
    if len(reduced) > MAX_TREE_DEPTH:
        raise InvalidInput(f"a reduced hash tree of {len(reduced)} levels (at most {MAX_TREE_DEPTH})")
    value = hash_list(reduced[0])
    for siblings in reduced[1:]:
        value = hash_list([*siblings, value])
    return value


# --- encoding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveStamp:
    """One archive time-stamp as the verifiers use it."""

    reduced: tuple[tuple[bytes, ...], ...]
    token: bytes  # DER TimeStampToken (the ContentInfo in ``timeStamp``)
    certificates: tuple[bytes, ...] = ()  # DER, signer first (certValues)
    ocsp_responses: tuple[bytes, ...] = ()  # DER OCSPResponse, one per certificate with a responder


def encode(chain: Sequence[ArchiveStamp]) -> bytes:
    """An EvidenceRecord (DER) with one ArchiveTimeStampChain: the given stamps, oldest first."""
    if not chain:
        raise ValueError("an evidence record needs at least one archive time-stamp")
    der: bytes = EvidenceRecord({
        "version": 1,
        "digest_algorithms": [{"algorithm": "sha256"}],
        "archive_time_stamp_sequence": [[_archive_time_stamp(s) for s in chain]],
    }).dump()
    return der


def _archive_time_stamp(stamp: ArchiveStamp) -> ArchiveTimeStamp:
    attributes = []
    if stamp.certificates:
        certs = Certificates([x509.Certificate.load(c) for c in stamp.certificates])
        attributes.append(Attribute({"type": CERT_VALUES_OID, "values": [core.Any.load(certs.dump())]}))
    if stamp.ocsp_responses:
        basics = BasicResponses([_basic(r) for r in stamp.ocsp_responses])
        values = RevocationValues({"ocsp_vals": basics})
        attributes.append(Attribute({"type": REVOCATION_VALUES_OID, "values": [core.Any.load(values.dump())]}))
    fields: dict[str, object] = {
        "digest_algorithm": {"algorithm": "sha256"},
        "time_stamp": cms.ContentInfo.load(stamp.token),
    }
    if attributes:
        fields["attributes"] = attributes
    if stamp.reduced:
        fields["reduced_hashtree"] = [list(level) for level in stamp.reduced]
    return ArchiveTimeStamp(fields)


def _basic(response_der: bytes) -> ocsp.BasicOCSPResponse:
    """The BasicOCSPResponse inside an OCSPResponse (what CAdES ``ocspVals`` holds)."""
    response = ocsp.OCSPResponse.load(response_der)
    return ocsp.BasicOCSPResponse.load(response["response_bytes"]["response"].parsed.dump())


def _wrapped(basic: ocsp.BasicOCSPResponse) -> bytes:
    """An OCSPResponse around a BasicOCSPResponse: the form ``ocsp.read_response`` checks."""
    der: bytes = ocsp.OCSPResponse({
        "response_status": "successful",
        "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
    }).dump()
    return der


def _present(value: core.Asn1Value) -> bool:
    return not isinstance(value, core.Void)  # an absent OPTIONAL field


def decode(der: bytes) -> list[ArchiveStamp]:
    """The first (only) ArchiveTimeStampChain of an EvidenceRecord; raises InvalidInput naming what is
    malformed. Only SHA-256 is accepted: the one algorithm these records are written with."""
    try:
        record = EvidenceRecord.load(der, strict=True)
        if record["version"].native != 1:
            raise InvalidInput(f"expected EvidenceRecord version 1, found {record['version'].native}")
        sequence = record["archive_time_stamp_sequence"]
        if len(sequence) != 1:
            raise InvalidInput(f"expected one ArchiveTimeStampChain, found {len(sequence)}")
        out = []
        for ats in sequence[0]:
            algorithm = ats["digest_algorithm"]
            if _present(algorithm) and algorithm["algorithm"].dotted != SHA256_OID:
                raise InvalidInput(f"expected digest algorithm sha256, found {algorithm['algorithm'].native}")
            reduced = tuple(tuple(bytes(h.native) for h in level) for level in ats["reduced_hashtree"]) \
                if _present(ats["reduced_hashtree"]) else ()
            certificates: tuple[bytes, ...] = ()
            responses: tuple[bytes, ...] = ()
            for attribute in ats["attributes"] if _present(ats["attributes"]) else ():
                kind = attribute["type"].dotted
                for value in attribute["values"]:
                    if kind == CERT_VALUES_OID:
                        certificates += tuple(c.dump() for c in Certificates.load(value.dump()))
                    elif kind == REVOCATION_VALUES_OID:
                        basics = RevocationValues.load(value.dump())["ocsp_vals"]
                        responses += tuple(_wrapped(b) for b in basics) if _present(basics) else ()
            out.append(ArchiveStamp(reduced=reduced, token=ats["time_stamp"].dump(), certificates=certificates,
                                    ocsp_responses=responses))
        if not out:
            raise InvalidInput("expected at least one archive time-stamp, found an empty chain")
        return out
    except InvalidInput:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        raise InvalidInput(f"not an RFC 4998 evidence record: {e}") from e
