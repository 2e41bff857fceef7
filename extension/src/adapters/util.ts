/** Shared parsing helpers. Every positional or keyed access is type-guarded: garbage in, drift out. */
import type { Json } from "../core/jcs.ts";
import type { DomHealth, DriftCode, Observation } from "./types.ts";

export type Obj = { [key: string]: unknown };

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function arr(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

/** JSON.parse that answers undefined instead of throwing. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export class Drift extends Error {
  override name = "Drift";
}

/**
 * Run a parser; a Drift (or any shape error) becomes a drift observation, never a partial record.
 * `code` says what kind of failure it is ("unknown-shape" for a known endpoint's unknown answer).
 */
export function guarded(what: string, parse: () => Observation[], code?: DriftCode, sessionId?: string): Observation[] {
  try {
    return parse();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const drift: Observation = { kind: "drift", reason: `${what}: ${reason}` };
    if (code) drift.code = code;
    if (sessionId) drift.sessionId = sessionId;
    return [drift];
  }
}

/** The per-page state slot an adapter keeps under `key`, made on first use. */
export function slot<T>(state: Map<string, unknown>, key: string, make: () => T): T {
  if (!state.has(key)) state.set(key, make());
  return state.get(key) as T;
}

/** A short stable hash (FNV-1a, 32 bits) for ids of things the site names no id for. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Drift(`expected ${what}`);
  return value;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events (HTML Living Standard §9.2.6): blank-line separated, data lines joined. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let event = "";
  let data: string[] = [];
  const flush = () => {
    if (data.length) events.push({ event: event || "message", data: data.join("\n") });
    event = "";
    data = [];
  };
  for (const raw of text.split(/\r\n|\r|\n/)) {
    if (raw === "") flush();
    else if (raw.startsWith(":")) continue;
    else {
      const i = raw.indexOf(":");
      const field = i < 0 ? raw : raw.slice(0, i);
      let value = i < 0 ? "" : raw.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
  }
  flush();
  return events;
}

/** Milliseconds or seconds since the epoch, or an ISO string, as RFC 3339 with milliseconds. */
export function isoTime(v: unknown): string | undefined {
  let ms: number | undefined;
  if (typeof v === "number" && Number.isFinite(v)) ms = v > 1e11 ? v : v * 1000;
  else if (typeof v === "string" && v) {
    const parsed = Date.parse(v);
    if (!Number.isNaN(parsed)) ms = parsed;
  }
  if (ms === undefined) return undefined;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Keep only JSON-safe scalar params (the record format allows no null and finite numbers only). */
export function cleanParams(p: { [key: string]: unknown }): { [key: string]: Json } | undefined {
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === "string" && v !== "") out[k] = v;
    else if (typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) out[k] = v;
    else if (typeof v === "boolean") out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

export function mediaTypeFromUrl(url: string): string | undefined {
  const m = /\.(png|jpe?g|webp|gif|mp4)(?:$|[?#~])/i.exec(url);
  if (!m?.[1]) return undefined;
  const ext = m[1].toLowerCase();
  if (ext === "mp4") return "video/mp4";
  return ext === "jpg" || ext === "jpeg" ? "image/jpeg" : `image/${ext}`;
}

/**
 * The generic DOM canary: on a conversation page whose main area shows text, at least one of the
 * adapter's message markers must match, or the page changed under the adapter.
 */
export function probeTurns(doc: Document, onConversation: boolean, turnSelectors: readonly string[]): DomHealth {
  if (!onConversation) return { state: "idle" };
  const root = doc.querySelector("main") ?? doc.body;
  const text = (root?.textContent ?? "").replace(/\s+/g, " ").trim();
  for (const sel of turnSelectors) if (doc.querySelector(sel)) return { state: "ok" };
  if (text.length < 40) return { state: "idle" };
  return {
    state: "drift",
    reason: `the page shows a conversation but none of the message markers ${turnSelectors.join(", ")} match`,
  };
}

/** guarded(), with the drift code the service counts (a known endpoint answered an unknown shape). */
export function guardedAs(what: string, code: DriftCode, parse: () => Observation[]): Observation[] {
  try {
    return parse();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return [{ kind: "drift", reason: `${what}: ${reason}`, code }];
  }
}
