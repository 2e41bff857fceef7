/**
 * ChatGPT's "delta v1" stream grammar, as the live site sends it on POST /backend-api/f/conversation,
 * its /resume leg and inside the WebSocket's `encoded_item` fragments (live-traffic-2026.md §2.1):
 *
 * - a frame is `{p, o, v}` (ops add, append, replace, patch, remove, truncate), maybe with a counter `c`;
 * - `p` and `o` are sticky: a frame with only `v` repeats the last frame-level path and op;
 * - `{"p":"","o":"patch","v":[…]}` is a batch of absolute sub-paths that neither reads nor sets the
 *   sticky position;
 * - an object `append` (to `/message/metadata`) is a merge, never a replacement;
 * - a `{message}` value starts a new message, even when `p` and `o` are omitted (the bootstrap frame);
 * - typed frames (`type`: stream_handoff, message_stream_complete, …) carry no answer text;
 * - an error can arrive inside the stream.
 *
 * The decoder keeps every message of the turn (hidden ones included: parents run through them) and
 * leaves the choice of the visible answer to chatgpt-message.ts.
 */
import { isObj, parseJson, str, type Obj, type SseEvent } from "./util.ts";

/** Typed frames that carry no answer text but are a normal part of a turn (SBO, RI-D). */
const KNOWN_TYPES = new Set([
  "server_ste_metadata", "message_marker", "title_generation", "conversation_detail_metadata",
  "message_stream_complete", "stream_handoff", "resume_conversation_token", "conversation_async_status",
  "input_message", "moderation",
]);

export interface Handoff {
  conversationId?: string;
  turnExchangeId?: string;
  /** WebSocket topics the page is told to subscribe to (`options[].topic_id`). */
  topics: string[];
}

export class DeltaDecoder {
  /** Every message of the turn by id, in the order they started. */
  readonly messages = new Map<string, Obj>();
  conversationId?: string;
  title?: string;
  /** `message_stream_complete` seen: the server says the turn's stream is whole. */
  complete = false;
  /** `[DONE]` seen: this leg ended normally (after a handoff it ends without the answer). */
  ended = false;
  handoff?: Handoff;
  /** The turn topic named by a `resume_conversation_token` JWT (`turn_topic_id`). */
  turnTopic?: string;
  /** The model the server's metadata frame names (evidence, not the answering model). */
  steModel?: string;
  error?: string;
  /** Frames understood vs. frames in a shape this decoder does not know. */
  understood = 0;
  unknown = 0;
  private current?: Obj;
  private path = "";
  private op = "";

  feedSse(events: readonly SseEvent[]): void {
    for (const ev of events) this.feed(ev.event, ev.data);
  }

  feed(event: string, data: string): void {
    if (data === "[DONE]") {
      this.ended = true;
      this.understood++;
      return;
    }
    const frame = parseJson(data);
    if (typeof frame === "string") {
      // `event: delta_encoding` / `data: "v1"`: the grammar's version.
      if (event === "delta_encoding" || frame === "v1") this.understood++;
      else this.unknown++;
      return;
    }
    if (!isObj(frame)) {
      this.unknown++;
      return;
    }
    this.conversationId ??= str(frame.conversation_id);
    if (typeof frame.type === "string") this.typed(frame);
    else if (isObj(frame.message)) this.start(frame.message, frame); // the bootstrap frame without p/o
    else if ("v" in frame) this.delta(frame);
    else if (frame.error !== undefined && frame.error !== null) this.fail(frame.error);
    else this.unknown++;
  }

  private typed(frame: Obj): void {
    const type = frame.type as string;
    if (type === "error" || (frame.error !== undefined && frame.error !== null && !KNOWN_TYPES.has(type))) {
      this.fail(frame.error ?? frame.message ?? type);
      return;
    }
    if (!KNOWN_TYPES.has(type)) {
      this.unknown++;
      return;
    }
    this.understood++;
    if (type === "message_stream_complete") this.complete = true;
    else if (type === "title_generation") this.title = str(frame.title) ?? this.title;
    else if (type === "server_ste_metadata" && isObj(frame.metadata)) this.steModel = str(frame.metadata.model_slug);
    else if (type === "stream_handoff") {
      const topics: string[] = [];
      for (const o of Array.isArray(frame.options) ? frame.options : []) {
        if (isObj(o) && o.type === "subscribe_ws_topic" && typeof o.topic_id === "string") topics.push(o.topic_id);
      }
      this.handoff = { conversationId: str(frame.conversation_id), turnExchangeId: str(frame.turn_exchange_id), topics };
    } else if (type === "resume_conversation_token") this.turnTopic = jwtClaim(str(frame.token), "turn_topic_id");
  }

  private fail(error: unknown): void {
    this.understood++;
    this.error = typeof error === "string" ? error : isObj(error) ? str(error.message) ?? str(error.code) ?? "error" : "error";
  }

  private start(message: Obj, frame: Obj): void {
    const id = str(message.id);
    if (!id) {
      this.unknown++;
      return;
    }
    this.conversationId ??= str(frame.conversation_id);
    // A re-sent snapshot of a known message replaces it (the server's newer copy).
    this.current = structuredClone(message);
    this.messages.set(id, this.current);
    this.understood++;
    if (frame.error !== undefined && frame.error !== null) this.fail(frame.error);
  }

  private delta(frame: Obj): void {
    const p = str(frame.p);
    const o = str(frame.o);
    const v = frame.v;
    if (isObj(v) && isObj(v.message) && (p === undefined || p === "") && (o === undefined || o === "add")) {
      this.start(v.message, { ...v, conversation_id: v.conversation_id ?? frame.conversation_id });
      return;
    }
    if (o === "patch" && (p === undefined || p === "")) {
      if (!Array.isArray(v)) {
        this.unknown++;
        return;
      }
      // A batch: absolute sub-paths; the sticky position is neither read nor set (WG-E).
      let ok = 0;
      for (const sub of v) {
        if (!isObj(sub)) continue;
        if (isObj(sub.v) && isObj(sub.v.message) && (str(sub.p) ?? "") === "") {
          this.start(sub.v.message, sub.v);
          ok++;
        } else if (this.apply(str(sub.p) ?? "", str(sub.o) ?? "replace", sub.v)) ok++;
      }
      if (ok > 0) this.understood++;
      else this.unknown++;
      return;
    }
    if (p !== undefined) this.path = p;
    if (o !== undefined) this.op = o;
    if (this.apply(this.path, this.op || "append", v)) this.understood++;
    else this.unknown++;
  }

  /** Apply one operation to the current message; false when the path leads nowhere. */
  private apply(path: string, op: string, value: unknown): boolean {
    if (!this.current) return false;
    const keys = path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (keys[0] !== "message" || keys.length < 2) return false;
    let target: unknown = this.current;
    for (const key of keys.slice(1, -1)) {
      const next: unknown = Array.isArray(target) ? target[Number(key)] : isObj(target) ? target[key] : undefined;
      if (next === undefined || next === null) {
        if (!isObj(target) || op === "remove") return false;
        target[key] = {}; // an add below a key the snapshot left out
        target = target[key];
      } else target = next;
    }
    const last = keys[keys.length - 1] as string;
    if (!isObj(target) && !Array.isArray(target)) return false;
    const holder = target as { [k: string]: unknown };
    const slot = Array.isArray(target) ? String(Number(last)) : last;
    const current = holder[slot];
    switch (op) {
      case "append":
        if (typeof current === "string" && typeof value === "string") holder[slot] = current + value;
        else if (Array.isArray(current)) current.push(...(Array.isArray(value) ? value : [value]));
        else if (isObj(current) && isObj(value)) Object.assign(current, value); // a merge (RI-D)
        else holder[slot] = value;
        return true;
      case "add":
      case "replace":
        holder[slot] = value;
        return true;
      case "remove":
        if (Array.isArray(target)) target.splice(Number(last), 1);
        else Reflect.deleteProperty(holder, slot);
        return true;
      case "truncate":
        if (typeof current === "string" && typeof value === "number") holder[slot] = current.slice(0, value);
        else if (Array.isArray(current) && typeof value === "number") current.length = Math.min(current.length, value);
        return true;
      default:
        return false;
    }
  }
}

/** One claim of a JWT's payload (base64url JSON), read without verifying: it only routes the turn. */
function jwtClaim(token: string | undefined, claim: string): string | undefined {
  const part = token?.split(".")[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const payload = parseJson(json);
    return isObj(payload) ? str(payload[claim]) : undefined;
  } catch {
    return undefined;
  }
}
