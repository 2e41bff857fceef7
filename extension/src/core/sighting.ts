/**
 * What the device recorded of one site message, and whether a later sighting of that message adds
 * something to it (DESIGN.md, second release: a fuller sighting is a new record naming the earlier
 * one in `refs.supersedes`; records are never edited).
 */
import type { Msg } from "../adapters/types.ts";
import type { RecordType } from "./record.ts";

/** What was recorded for one message (older memories hold only role and parent). */
export interface SeenMessage {
  role: "user" | "ai";
  parentId?: string;
  /** The id of the latest record of this message. */
  recordId?: string;
  /** The type it was recorded as (a superseding record repeats it). */
  type?: RecordType;
  /** A change detector over the recorded text (not a security digest: the record's own digest is that). */
  textHash?: string;
  textLength?: number;
  /** The recorded text's first characters, so a shorter sighting that is a prefix is known as less, not new. */
  textHead?: string;
  model?: string;
  images?: number;
  stopped?: boolean;
}

const HEAD = 64;

/** cyrb53, a fast 53-bit string hash: enough to notice that a text changed, synchronously. */
export function textHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

function modelOf(m: Msg): string | undefined {
  const model = m.meta?.model;
  return typeof model === "string" && model ? model : undefined;
}

/** What a record of `m` holds, to remember beside the record id. */
export function sighting(m: Msg, type: RecordType, recordId: string): SeenMessage {
  const text = m.text ?? "";
  const seen: SeenMessage = { role: m.role, type, recordId };
  if (m.parentId !== undefined) seen.parentId = m.parentId;
  if (text) {
    seen.textHash = textHash(text);
    seen.textLength = text.length;
    seen.textHead = text.slice(0, HEAD);
  }
  const model = modelOf(m);
  if (model) seen.model = model;
  if (m.images?.length) seen.images = m.images.length;
  if (m.stopped) seen.stopped = true;
  return seen;
}

/**
 * What a later complete sighting adds to the recorded one, in words (for the record's refs), or
 * undefined when it adds nothing. Less is never more: a shorter text that the recorded one begins
 * with, a missing model or fewer images are a poorer view of the same message, not a change.
 */
export function additions(seen: SeenMessage, m: Msg): string[] | undefined {
  if (!seen.recordId || !seen.type) return undefined; // recorded before ids were remembered: nothing to name
  const added: string[] = [];
  const text = m.text ?? "";
  if (text && textHash(text) !== seen.textHash) {
    const prefixOfRecorded = text.length < (seen.textLength ?? 0) && (seen.textHead ?? "").startsWith(text.slice(0, HEAD));
    if (!prefixOfRecorded) added.push(text.length > (seen.textLength ?? 0) ? "longer text" : "different text");
  }
  const model = modelOf(m);
  if (model && !seen.model) added.push("model");
  if (m.parentId !== undefined && seen.parentId === undefined) added.push("parent");
  if ((m.images?.length ?? 0) > (seen.images ?? 0)) added.push("images");
  // Only an explicit `stopped: false` says a stopped answer finished: a sighting that simply does not
  // carry the flag (many history formats do not) is no evidence that it did.
  if (seen.stopped && m.stopped === false) added.push("finished");
  return added.length ? added : undefined;
}
