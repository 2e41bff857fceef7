/** Records and receipts as DESIGN.md "Formats" defines them, validated as the server's model.py does. */
import type { Json } from "./jcs.js";

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const SITE_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const NODE_RE = /^[0-9a-f]{64}$/;
const KEY_ID_RE = /^[0-9a-f]{16}$/;
export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TYPES = ["prompt", "output", "edit", "regenerate", "parameters", "selection", "note", "import", "identity", "drift",
  "account", "pairing"];
const MEDIA_TYPE_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

type Obj = Record<string, Json>;

export interface Attachment {
  digest: string;
  media_type: string;
  bytes: number;
  role: string;
}

export interface RecordView {
  id: string;
  type: string;
  site: string;
  sessionId: string;
  seq: number;
  prev: string | null;
  capturedAt: string;
  device: string | null;
  attachments: Attachment[];
}

export interface BatchRef {
  id: string;
  root: string;
  size: number;
  index: number;
  proof: string[];
}

export interface Receipt {
  record: string;
  record_id: string;
  account: string;
  received_at: string;
  batch: BatchRef;
  key: string;
  sig: string;
  device_key: string | null;
  device_sig: string | null;
}

function shown(found: Json | undefined): string {
  if (found === null) return "null";
  if (found === undefined) return "missing";
  if (typeof found === "object") return Array.isArray(found) ? "list" : "dict";
  return JSON.stringify(found).slice(0, 80);
}

function fail(path: string, expected: string, found: Json | undefined): Error {
  return new Error(`${path}: expected ${expected}, found ${shown(found)}`);
}

function object(value: Json | undefined, path: string): Obj {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) throw fail(path, "an object", value);
  return value;
}

function string(value: Json | undefined, path: string, pattern?: RegExp, expected = "a string"): string {
  if (typeof value !== "string" || (pattern && !pattern.test(value))) throw fail(path, expected, value);
  return value;
}

function integer(value: Json | undefined, path: string, minimum = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) throw fail(path, `an integer >= ${minimum}`, value);
  return value;
}

export function recordFrom(value: Json): RecordView {
  const obj = object(value, "record");
  if (obj["v"] !== 1) throw fail("record.v", "1 (the only record version this server knows)", obj["v"]);
  const id = string(obj["id"], "record.id", ULID_RE, "a ULID (26 Crockford base32 characters)");
  const type = string(obj["type"], "record.type", undefined);
  if (!TYPES.includes(type)) throw fail("record.type", "one of " + TYPES.join("|"), type);
  const session = object(obj["session"], "record.session");
  const site = string(session["site"], "record.session.site", SITE_RE, "a lowercase site name like chatgpt");
  const sessionId = string(session["id"], "record.session.id");
  const seq = integer(obj["seq"], "record.seq", 1);
  if (!("prev" in obj)) throw fail("record.prev", "a digest or null", undefined);
  const prev = obj["prev"] === null ? null : string(obj["prev"], "record.prev", DIGEST_RE, "a digest 'sha256:<64 lowercase hex>'");
  if (seq === 1 && prev !== null) throw new Error("record.prev: the first record of a chain (seq 1) must have prev null");
  if (seq > 1 && prev === null) throw new Error(`record.prev: seq ${seq} needs the digest of record ${seq - 1}, found null`);
  const capturedAt = string(obj["captured_at"], "record.captured_at", TIMESTAMP_RE, "RFC 3339 UTC with milliseconds and Z");
  const actor = string(obj["actor"], "record.actor");
  if (actor !== "user" && actor !== "ai") throw fail("record.actor", "user|ai", actor);
  const client = object(obj["client"], "record.client");
  string(client["app"], "record.client.app");
  const device = "device" in client ? string(client["device"], "record.client.device", KEY_ID_RE, "a key id (16 lowercase hex)") : null;
  const attachments: Attachment[] = [];
  if ("attachments" in obj) {
    const items = obj["attachments"];
    if (!Array.isArray(items)) throw fail("record.attachments", "an array", items);
    items.forEach((item, i) => {
      const path = `record.attachments[${i}]`;
      const a = object(item, path);
      attachments.push({
        digest: string(a["digest"], `${path}.digest`, DIGEST_RE, "a digest 'sha256:<64 lowercase hex>'"),
        media_type: string(a["media_type"], `${path}.media_type`, MEDIA_TYPE_RE, "a media type like image/png"),
        bytes: integer(a["bytes"], `${path}.bytes`),
        role: string(a["role"], `${path}.role`),
      });
    });
  }
  return { id, type, site, sessionId, seq, prev, capturedAt, device, attachments };
}

export function receiptFrom(value: Json): Receipt {
  const obj = object(value, "receipt");
  if (obj["v"] !== 1) throw fail("receipt.v", "1", obj["v"]);
  const b = object(obj["batch"], "receipt.batch");
  const proof = b["proof"];
  if (!Array.isArray(proof) || !proof.every((p) => typeof p === "string" && NODE_RE.test(p))) {
    throw fail("receipt.batch.proof", "an array of 64-hex node hashes", proof);
  }
  if (!("device_key" in obj)) throw fail("receipt.device_key", "a key id or null", undefined);
  return {
    record: string(obj["record"], "receipt.record", DIGEST_RE, "a digest 'sha256:<64 lowercase hex>'"),
    record_id: string(obj["record_id"], "receipt.record_id"),
    account: string(obj["account"], "receipt.account"),
    received_at: string(obj["received_at"], "receipt.received_at"),
    batch: {
      id: string(b["id"], "receipt.batch.id"),
      root: string(b["root"], "receipt.batch.root", DIGEST_RE, "a digest 'sha256:<64 lowercase hex>'"),
      size: integer(b["size"], "receipt.batch.size", 1),
      index: integer(b["index"], "receipt.batch.index"),
      proof: proof as string[],
    },
    key: string(obj["key"], "receipt.key"),
    sig: string(obj["sig"], "receipt.sig"),
    device_key: obj["device_key"] === null ? null : string(obj["device_key"], "receipt.device_key"),
    device_sig: obj["device_sig"] === undefined || obj["device_sig"] === null ? null : string(obj["device_sig"], "receipt.device_sig"),
  };
}
