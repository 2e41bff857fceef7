/** Byte helpers over Uint8Array: hex, base64 (standard, padded: DESIGN.md), SHA-256. */
import { sha256 as sha256Js } from "@noble/hashes/sha2.js";

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b];
  return out;
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`expected hex, found ${JSON.stringify(text.slice(0, 80))}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibble(text.charCodeAt(2 * i)) << 4) | nibble(text.charCodeAt(2 * i + 1));
  return out;
}

/** The value of a hex digit's character code (0-9, a-f, A-F: checked by the caller). */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : (code | 32) - 87;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function fromBase64(text: string, what: string): Uint8Array {
  if (!B64.test(text)) throw new Error(`${what}: expected standard base64 with padding`);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy backed by its own ArrayBuffer: what WebCrypto and PKI.js accept without surprises. */
export function buffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

export async function digest(algorithm: "SHA-256" | "SHA-384" | "SHA-512", data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, buffer(data)));
}

// Below this size SHA-256 runs here, synchronously: a WebCrypto digest is a round trip to another thread
// that costs more than hashing a record, a receipt or a Merkle node (tens of thousands in a big bundle).
const SYNC_SHA256_MAX = 64 << 10;

export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return data.length <= SYNC_SHA256_MAX ? Promise.resolve(sha256Js(data)) : digest("SHA-256", data);
}

/** SHA-256 of small inputs (Merkle nodes, key ids), synchronously. */
export function sha256Small(data: Uint8Array): Uint8Array {
  if (data.length > SYNC_SHA256_MAX) throw new Error(`sha256Small: ${data.length} bytes, more than ${SYNC_SHA256_MAX}`);
  return sha256Js(data);
}

export const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeUtf8(data: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(data);
  } catch {
    throw new Error(`${what}: expected UTF-8 text, found invalid bytes`);
  }
}
