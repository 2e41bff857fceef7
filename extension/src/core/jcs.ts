/**
 * RFC 8785 (JCS) canonical JSON: the bytes a record's digest and device signature cover.
 *
 * ECMAScript's own number and string serialization is what RFC 8785 §3.2.2 specifies, so
 * JSON.stringify is used for those leaves; object keys are sorted by UTF-16 code units (§3.2.3),
 * which is what Array.prototype.sort does for strings. What JCS cannot represent is rejected,
 * never normalized: the server rejects the same inputs (server/promptstamp/canonical.py).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class CanonicalizationError extends Error {
  override name = "CanonicalizationError";
}

function serializeString(s: string): string {
  if (!s.isWellFormed()) {
    throw new CanonicalizationError("string contains a lone surrogate; RFC 8785 requires valid Unicode");
  }
  return JSON.stringify(s);
}

function serializeNumber(n: number): string {
  if (!Number.isFinite(n)) {
    throw new CanonicalizationError(`number ${String(n)} has no JSON form (RFC 8785 §3.2.2.3)`);
  }
  // Number.prototype.toString, as RFC 8785 §3.2.2.3 requires; -0 becomes "0".
  return JSON.stringify(n);
}

function serialize(value: unknown, out: string[], path: string): void {
  if (value === null) out.push("null");
  else if (value === true) out.push("true");
  else if (value === false) out.push("false");
  else if (typeof value === "number") out.push(serializeNumber(value));
  else if (typeof value === "string") out.push(serializeString(value));
  else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i) out.push(",");
      serialize(item, out, `${path}[${i}]`);
    });
    out.push("]");
  } else if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    out.push("{");
    keys.forEach((key, i) => {
      if (i) out.push(",");
      out.push(serializeString(key), ":");
      serialize(obj[key], out, `${path}.${key}`);
    });
    out.push("}");
  } else {
    throw new CanonicalizationError(`${path}: ${typeof value} is not a JSON value`);
  }
}

/** The RFC 8785 text of a JSON value. */
export function canonicalText(value: unknown): string {
  const out: string[] = [];
  serialize(value, out, "$");
  return out.join("");
}

/** The RFC 8785 bytes (UTF-8) of a JSON value. */
export function canonicalize(value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(canonicalText(value));
}
