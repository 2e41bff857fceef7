"""Strict reading of the parts of an RFC 3161 token that its signature does not cover.

A token's CMS signature covers the signed attributes and, through them, the TSTInfo; the SignedData
version, its digestAlgorithms set and the SignerInfo version sit outside it. Nothing else in a
bundle covers the bytes of ``META-INF/timestamp001.tst`` either, so these parts must say only what
the signed parts say (RFC 5652 §5.1, §5.3). A small DER walk, definite lengths only; no library.
"""

from __future__ import annotations

from .errors import VerificationError


def _fail(detail: str) -> VerificationError:
    return VerificationError(detail)


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``; definite lengths only."""
    if pos + 2 > len(der):
        raise _fail("token DER ends inside an element header")
    tag, length, pos = der[pos], der[pos + 1], pos + 2
    if length & 0x80:
        n = length & 0x7F
        if not 1 <= n <= 4 or pos + n > len(der):
            raise _fail("token DER has an unsupported length form")
        length, pos = int.from_bytes(der[pos:pos + n], "big"), pos + n
    if pos + length > len(der):
        raise _fail("token DER element runs past the end")
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out, pos = [], start
    while pos < end:
        tag, vs, ve = _tlv(der, pos)
        out.append((tag, pos, vs, ve))
        pos = ve
    return out


def _oid_of(der: bytes, alg: tuple[int, int, int, int]) -> bytes:
    parts = _children(der, alg[2], alg[3])
    params_ok = len(parts) == 1 or (len(parts) == 2 and der[parts[1][1]:parts[1][3]] == b"\x05\x00")
    if not parts or parts[0][0] != 0x06 or not params_ok:
        raise _fail("expected an AlgorithmIdentifier (OID, optional NULL)")
    return der[parts[0][2]:parts[0][3]]


def check_envelope(token: bytes) -> None:
    """The parts of a token its signature does not cover must say only what the signed parts say.

    RFC 5652 §5.1/§5.3: SignedData version 3 (eContent is not id-data), SignerInfo version 1 or 3, and
    digestAlgorithms naming exactly the signer's digest algorithm. Nothing else in a bundle covers the
    bytes of ``META-INF/timestamp001.tst``, so these bytes are checked here rather than ignored.
    """
    _, cs, ce = _tlv(token, 0)
    content = _children(token, cs, ce)
    if len(content) != 2 or content[1][0] != 0xA0:
        raise _fail("expected ContentInfo { signedData, [0] SignedData }")
    sd = _children(token, content[1][2], content[1][3])
    if len(sd) != 1 or sd[0][0] != 0x30:
        raise _fail("expected one SignedData")
    parts = _children(token, sd[0][2], sd[0][3])
    if len(parts) < 4 or token[parts[0][1]:parts[0][3]] != b"\x02\x01\x03" or parts[1][0] != 0x31:
        raise _fail("expected SignedData version 3 followed by digestAlgorithms (RFC 5652 §5.1)")
    signer_infos = _children(token, parts[-1][2], parts[-1][3])
    if parts[-1][0] != 0x31 or len(signer_infos) != 1:
        raise _fail("expected exactly one SignerInfo")
    si = _children(token, signer_infos[0][2], signer_infos[0][3])
    if len(si) < 3 or token[si[0][1]:si[0][3]] not in (b"\x02\x01\x01", b"\x02\x01\x03"):
        raise _fail("expected SignerInfo version 1 or 3 (RFC 5652 §5.3)")
    signer_alg = _oid_of(token, si[2])
    listed = [_oid_of(token, a) for a in _children(token, parts[1][2], parts[1][3])]
    if not listed or any(oid != signer_alg for oid in listed):
        raise _fail("expected SignedData.digestAlgorithms to name exactly the signer's digest algorithm")
