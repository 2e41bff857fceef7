/** RFC 9162 (Certificate Transparency v2) hashing and inclusion proofs, as the service builds batches. */
import { concat, equal, hex, sha256Small } from "./bytes.js";

export function leafHash(recordDigest: Uint8Array): Uint8Array {
  return sha256Small(concat(new Uint8Array([0]), recordDigest));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Small(concat(new Uint8Array([1]), left, right));
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to; throws when the proof cannot fit the tree. */
export function rootFromProof(recordDigest: Uint8Array, index: number, size: number, proof: Uint8Array[]): Uint8Array {
  if (!(index >= 0 && index < size)) throw new Error(`leaf index ${index} is outside a tree of size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash(recordDigest);
  for (const p of proof) {
    if (sn === 0) throw new Error(`inclusion proof has ${proof.length} nodes, more than a tree of size ${size} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error(`inclusion proof has ${proof.length} nodes, too few for a tree of size ${size}`);
  return r;
}

export function verifyInclusion(recordDigest: Uint8Array, index: number, size: number, proof: Uint8Array[],
  root: Uint8Array): void {
  const computed = rootFromProof(recordDigest, index, size, proof);
  if (!equal(computed, root)) {
    throw new Error(`inclusion proof leads to root ${hex(computed)}, batch root is ${hex(root)}`);
  }
}
