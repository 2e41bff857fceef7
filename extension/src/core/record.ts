/** The record format (DESIGN.md, "Formats"): the contract with the service and the verifier. */
import type { Json } from "./jcs.ts";

export const APP = "promptstamp-extension/0.1.0";

export const SITES = [
  "chatgpt", "claude", "gemini", "deepseek", "midjourney", "grok", "perplexity", "doubao", "kimi", "qwen",
] as const;
export type SiteId = (typeof SITES)[number];
/** Generic capture from any page (context menu): not one of the adapters' sites. */
export const WEB_SITE = "web";

export type RecordType =
  | "prompt" | "output" | "edit" | "regenerate" | "parameters" | "selection" | "note" | "import"
  // Second release (DESIGN.md): the site account that performed the session; a capture that failed.
  | "identity" | "drift";
export type Actor = "user" | "ai";

export interface Attachment {
  digest: string;
  media_type: string;
  bytes: number;
  role: string;
  source_url?: string;
}

export interface SessionRef {
  site: string;
  id: string;
  url?: string;
  title?: string;
}

export interface StampRecord {
  v: 1;
  id: string;
  type: RecordType;
  session: SessionRef;
  seq: number;
  prev: string | null;
  captured_at: string;
  actor: Actor;
  text?: string;
  params?: { [key: string]: Json };
  refs?: { [key: string]: string };
  attachments?: Attachment[];
  client: { app: string; adapter?: string; device?: string };
}

export interface DeviceSig {
  key: string;
  sig: string;
}

export interface Envelope {
  record: StampRecord;
  device_sig?: DeviceSig;
}

/** A blob the background must fetch, hash and attach before it seals the record. */
export interface ImageRef {
  url: string;
  /** The URL answers JSON whose named field holds the real download URL (ChatGPT files API). */
  resolveField?: string;
  mediaType?: string;
  role?: string;
}

/** A record before the chain fields (id, seq, prev, captured_at, client) are filled in. */
export interface Draft {
  /** The record id, when it was chosen before sealing (so that later steps can name the record). */
  id?: string;
  type: RecordType;
  actor: Actor;
  session: SessionRef;
  text?: string;
  params?: { [key: string]: Json };
  refs?: { [key: string]: string };
  attachments?: Attachment[];
  images?: ImageRef[];
  adapter?: string;
  /** What a prompt waits for (the no-answer check's timeout); not part of the record. */
  awaits?: "text" | "thinking" | "image" | "video";
  /** The site message this draft records; memorised so it is recorded once. */
  messageId?: string;
}

/** Drop keys whose value is undefined: the record format omits what does not apply. */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** A refs object from optional strings: absent ones are omitted. */
export function refsOf(obj: { [key: string]: string | undefined }): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}
