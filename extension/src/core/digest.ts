/** SHA-256 digests in PromptStamp's notation, `sha256:<64 lowercase hex>` (DESIGN.md, "Formats"). */
import { canonicalize } from "./jcs.ts";

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

export async function sha256Hex(data: BufferSource): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

export async function digestBytes(data: BufferSource): Promise<string> {
  return "sha256:" + (await sha256Hex(data));
}

/** Digest of a JSON value: SHA-256 over its RFC 8785 bytes. */
export async function digestOf(value: unknown): Promise<string> {
  return digestBytes(canonicalize(value));
}

export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
