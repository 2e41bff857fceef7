/**
 * RFC 4998 Evidence Record Syntax as the service writes it (server ers.py, docs/format.md §11): decoding a
 * batch's ``evidence.ers`` and recomputing its reduced hash trees. No checks of the tokens here.
 *
 * The ERS module is DEFINITIONS IMPLICIT TAGS (RFC 4998 Appendix A): the optional fields of an
 * ArchiveTimeStamp are context tags [0] digestAlgorithm, [1] attributes, [2] reducedHashtree, each the
 * constructed contents of the type it replaces.
 */
import * as asn1js from "asn1js";
import { buffer, concat, equal, sha256 } from "./bytes.js";

const SHA256_OID = "2.16.840.1.101.3.4.2.1";
// CAdES attribute types (ETSI TS 101 733 / EN 319 122-1): complete certificate and revocation values.
const CERT_VALUES_OID = "1.2.840.113549.1.9.16.2.23";
const REVOCATION_VALUES_OID = "1.2.840.113549.1.9.16.2.24";
const MAX_TREE_DEPTH = 64; // 2^64 leaves: a deeper reduced hash tree is malformed, not big

/** One archive time-stamp as the verifiers use it. */
export interface ArchiveStamp {
  reduced: Uint8Array[][];
  token: Uint8Array; // DER TimeStampToken (the ContentInfo in ``timeStamp``)
  certificates: Uint8Array[]; // DER, signer first (certValues)
  ocspResponses: Uint8Array[]; // DER BasicOCSPResponse (revocationValues ocspVals), for the certificates above
}

export class EvidenceRecordError extends Error {}

function malformed(detail: string): EvidenceRecordError {
  return new EvidenceRecordError(`not an RFC 4998 evidence record: ${detail}`);
}

function children(node: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  if (!(node instanceof asn1js.Constructed)) throw malformed(`expected ${what} to be constructed`);
  return node.valueBlock.value;
}

function universal(node: asn1js.AsnType | undefined, tag: number): boolean {
  return node !== undefined && node.idBlock.tagClass === 1 && node.idBlock.tagNumber === tag;
}

function context(node: asn1js.AsnType | undefined): number | null {
  return node !== undefined && node.idBlock.tagClass === 3 ? node.idBlock.tagNumber : null;
}

function encoded(node: asn1js.AsnType): Uint8Array {
  return new Uint8Array(node.valueBeforeDecodeView);
}

function octets(node: asn1js.AsnType, what: string): Uint8Array {
  if (!(node instanceof asn1js.OctetString) || node.valueBlock.isConstructed) throw malformed(`expected ${what} to be an OCTET STRING`);
  return new Uint8Array(node.valueBlock.valueHexView);
}

/** The digest algorithm of an AlgorithmIdentifier's contents (OID, optional NULL): only SHA-256 is written. */
function checkAlgorithm(fields: asn1js.AsnType[], where: string): void {
  const oid = fields[0];
  const found = oid instanceof asn1js.ObjectIdentifier ? oid.valueBlock.toString() : "something else";
  if (found !== SHA256_OID) throw new EvidenceRecordError(`expected ${where} sha256, found ${found}`);
}

function archiveTimeStamp(node: asn1js.AsnType): ArchiveStamp {
  const fields = children(node, "an ArchiveTimeStamp");
  const stamp: ArchiveStamp = { reduced: [], token: new Uint8Array(), certificates: [], ocspResponses: [] };
  let last = -1;
  for (const field of fields.slice(0, -1)) {
    const tag = context(field);
    if (tag === null || tag <= last || tag > 2) throw malformed("expected the fields [0], [1], [2] in order before timeStamp");
    last = tag;
    if (tag === 0) checkAlgorithm(children(field, "digestAlgorithm"), "digest algorithm");
    else if (tag === 1) attributes(children(field, "attributes"), stamp);
    else {
      stamp.reduced = children(field, "reducedHashtree").map((level) => children(level, "a PartialHashtree")
        .map((h) => octets(h, "a hash of the reduced hash tree")));
    }
  }
  const timeStamp = fields[fields.length - 1];
  if (!universal(timeStamp, 16)) throw malformed("expected timeStamp, a ContentInfo, last in an ArchiveTimeStamp");
  stamp.token = encoded(timeStamp!);
  return stamp;
}

function attributes(list: asn1js.AsnType[], stamp: ArchiveStamp): void {
  for (const attribute of list) {
    const [type, values] = children(attribute, "an Attribute");
    if (!(type instanceof asn1js.ObjectIdentifier) || !universal(values, 17)) throw malformed("expected an Attribute { type, SET OF values }");
    for (const value of children(values, "attribute values")) {
      const kind = type.valueBlock.toString();
      if (kind === CERT_VALUES_OID) {
        stamp.certificates.push(...children(value, "certValues").map(encoded));
      } else if (kind === REVOCATION_VALUES_OID) {
        // RevocationValues (explicit tags): ocspVals [1] is a SEQUENCE OF BasicOCSPResponse.
        const ocsp = children(value, "revocationValues").find((f) => context(f) === 1);
        if (ocsp) stamp.ocspResponses.push(...children(children(ocsp, "ocspVals")[0], "ocspVals").map(encoded));
      }
    }
  }
}

/** The first (only) ArchiveTimeStampChain of an EvidenceRecord, oldest first; throws naming what is malformed. */
export function decodeEvidenceRecord(der: Uint8Array): ArchiveStamp[] {
  const asn = asn1js.fromBER(buffer(der));
  if (asn.offset === -1) throw malformed(asn.result.error || "undecodable BER");
  if (asn.offset !== der.length) throw malformed(`${der.length - asn.offset} bytes after the record`);
  const fields = children(asn.result, "an EvidenceRecord");
  const version = fields[0];
  if (!(version instanceof asn1js.Integer)) throw malformed("expected version, an INTEGER, first");
  if (version.valueBlock.valueDec !== 1) throw new EvidenceRecordError(`expected EvidenceRecord version 1, found ${version.valueBlock.valueDec}`);
  for (const algorithm of children(fields[1], "digestAlgorithms")) checkAlgorithm(children(algorithm, "an AlgorithmIdentifier"), "digest algorithm");
  const sequence = fields[fields.length - 1];
  if (fields.length < 3 || !universal(sequence, 16) || fields.slice(2, -1).some((f) => context(f) === null)) {
    throw malformed("expected version, digestAlgorithms, [0], [1], archiveTimeStampSequence");
  }
  const chains = children(sequence, "archiveTimeStampSequence");
  if (chains.length !== 1) throw new EvidenceRecordError(`expected one ArchiveTimeStampChain, found ${chains.length}`);
  const chain = children(chains[0], "an ArchiveTimeStampChain").map(archiveTimeStamp);
  if (!chain.length) throw new EvidenceRecordError("expected at least one archive time-stamp, found an empty chain");
  return chain;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** RFC 4998 §4.2: the hash of the values sorted in binary ascending order and concatenated. */
export async function hashList(hashes: Uint8Array[]): Promise<Uint8Array> {
  return sha256(concat(...[...hashes].sort(compare)));
}

/** RFC 4998 §4.3 steps 1-3: the root a reduced hash tree leads to from ``digest``; throws if the first list
 * does not hold ``digest``. An absent tree (no lists) means the data was stamped directly. */
export async function rootOf(reduced: Uint8Array[][], digest: Uint8Array): Promise<Uint8Array> {
  if (!reduced.length) return digest;
  if (!reduced[0]!.some((h) => equal(h, digest))) throw new EvidenceRecordError("the hash is not among the first list of the reduced hash tree");
  if (reduced.length > MAX_TREE_DEPTH) throw new EvidenceRecordError(`a reduced hash tree of ${reduced.length} levels (at most ${MAX_TREE_DEPTH})`);
  let value = await hashList(reduced[0]!);
  for (const siblings of reduced.slice(1)) value = await hashList([...siblings, value]);
  return value;
}
