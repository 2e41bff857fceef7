/**
 * Gemini's wire formats, without capture policy: the `f.req` form field of StreamGenerate and
 * batchexecute, the `)]}'` answer read line by line, and the positional candidate of a turn
 * (live-traffic-2026.md §2.3; capture-sites.md §1 for the read-chat turn).
 */
import type { ImageRef } from "../core/record.ts";
import { arr, num, parseJson, str } from "./util.ts";

/** A positional lookup that answers undefined instead of throwing on a short or non-array value. */
export function at(v: unknown, ...path: number[]): unknown {
  let cur = v;
  for (const i of path) cur = Array.isArray(cur) ? cur[i] : undefined;
  return cur;
}

export interface RpcEntry {
  /** The rpc id ("hNvQHb"); null on StreamGenerate's entries. */
  rpc?: string;
  /** The parsed JSON of the entry's string payload, or undefined when the entry carries none. */
  payload: unknown;
  /** An error code the entry carries in place of a payload (`["wrb.fr", null, null, …, [code]]`). */
  error?: number;
}

/**
 * Every `wrb.fr` entry of an answer. The stream is `)]}'`, then `<length>` lines and JSON-array
 * lines; the declared lengths are unreliable (authors' live capture, 2026-07-18, [SBO]), so each
 * line is read as JSON on its own and the length lines (bare numbers) are skipped. Other entry
 * kinds (`di`, `af.httprm`, `e`) are the transport's bookkeeping.
 */
export function rpcEntries(text: string): { entries: RpcEntry[]; lines: number } {
  const entries: RpcEntry[] = [];
  let lines = 0;
  for (const raw of text.replace(/^\)\]\}'/, "").split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith("[")) continue;
    lines++;
    for (const entry of arr(parseJson(line)) ?? []) {
      if (!Array.isArray(entry) || entry[0] !== "wrb.fr") continue;
      const payload = typeof entry[2] === "string" ? parseJson(entry[2]) : undefined;
      const error = num(at(entry, 5, 0));
      entries.push({ rpc: str(entry[1]), payload, error });
    }
  }
  return { entries, lines };
}

/** The `f.req` form field: StreamGenerate's `[null, "<inner JSON>"]`, parsed down to the inner array. */
export function formField(body: string | undefined, name: string): string | undefined {
  if (!body) return undefined;
  try {
    return new URLSearchParams(body).get(name) ?? undefined;
  } catch {
    return undefined;
  }
}

export interface SendRequest {
  prompt?: string;
  /** `f.req` inner [2]: `[c_, r_prev, rc_prev]`, the turn this prompt follows (public capture, 2026). */
  conversation?: string;
  parentResponse?: string;
  parentDraft?: string;
}

export function sendRequest(body: string | undefined): SendRequest {
  const outer = parseJson(formField(body, "f.req"));
  const inner = parseJson(str(at(outer, 1)));
  const nonEmpty = (v: unknown) => str(v) || undefined;
  return {
    prompt: nonEmpty(at(inner, 0, 0)),
    conversation: nonEmpty(at(inner, 2, 0)),
    parentResponse: nonEmpty(at(inner, 2, 1)),
    parentDraft: nonEmpty(at(inner, 2, 2)),
  };
}

/** Placeholders the text holds where media render: `http://googleusercontent.com/<kind>/<n>` [GA-C]. */
const PLACEHOLDER = /\s*http:\/\/googleusercontent\.com\/[a-z_]+\/\d+\s*/g;
const CARD = /^http:\/\/googleusercontent\.com\/card_content\/\d+/;

export interface Candidate {
  draftId: string;
  text?: string;
  images: ImageRef[];
  /** `[8][0] == 2`: the draft is finished (flagged must-verify in [SBO, GA-C]). */
  done: boolean;
  /** `[37][0][0]`: the model's reasoning; kept out of the answer. */
  hasReasoning: boolean;
}

/**
 * Full size for a generated image. The public client reaches full size through batchexecute
 * `c8o8Fe` and `=d-I?alr=yes`, falling back to `=s2048-rj`, and never uses `=s0` [GA-C]; a passive
 * capture cannot make the `c8o8Fe` call the way the page does, so it takes the documented fallback
 * (2048 px), replacing whatever size suffix the page used for its preview.
 */
export function fullSizeImage(url: string): string {
  return url.replace(/=[a-z0-9-]+$/i, "") + "=s2048-rj";
}

export function candidate(c: unknown): Candidate | undefined {
  const draftId = str(at(c, 0));
  if (!draftId) return undefined;
  let text = str(at(c, 1, 0));
  const card = str(at(c, 22, 0));
  if (card && (!text || CARD.test(text))) text = card;
  const images: ImageRef[] = [];
  for (const img of arr(at(c, 12, 7, 0)) ?? []) {
    const url = str(at(img, 0, 3, 3));
    if (url && !images.some((i) => i.url === fullSizeImage(url))) images.push({ url: fullSizeImage(url), role: "output" });
  }
  return {
    draftId,
    text: text?.replace(PLACEHOLDER, " ").trim() || undefined,
    images,
    done: at(c, 8, 0) === 2,
    hasReasoning: typeof at(c, 37, 0, 0) === "string",
  };
}
