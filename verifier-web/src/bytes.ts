/** Byte helpers over Uint8Array: hex, base64 (standard, padded: DESIGN.md), SHA-256 by WebCrypto. */

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`expected hex, found ${JSON.stringify(text.slice(0, 80))}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
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

export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return digest("SHA-256", data);
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
