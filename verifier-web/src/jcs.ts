/**
 * RFC 8785 (JCS) in the browser: what the service signs is the canonical form of the parsed JSON.
 * ECMAScript's own number-to-string and UTF-16 key order are what RFC 8785 §3.2.2-3.2.3 specify.
 */
import { decodeUtf8, equal, utf8 } from "./bytes.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function canonicalize(value: Json): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("JCS cannot represent a non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k] as Json)}`).join(",")}}`;
}

/** Parse and require the exact RFC 8785 bytes (a duplicate key or another serialization differs). */
export function parseCanonical(data: Uint8Array, name: string): Json {
  const text = decodeUtf8(data, name);
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(`${name}: expected JSON, found ${(e as Error).message}`, { cause: e });
  }
  if (!equal(utf8.encode(canonicalize(value)), data)) {
    throw new Error(`${name}: expected RFC 8785 canonical JSON bytes, found another serialization`);
  }
  return value;
}

export function parseJson(data: Uint8Array, name: string): Json {
  try {
    return JSON.parse(decodeUtf8(data, name)) as Json;
  } catch (e) {
    throw new Error(`${name}: expected JSON, found ${(e as Error).message}`, { cause: e });
  }
}
