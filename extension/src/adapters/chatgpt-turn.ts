/**
 * ChatGPT turns that span several exchanges (live-traffic-2026.md §2.1): the page's POST
 * /backend-api/f/conversation, then for thinking turns a `stream_handoff` and the answer on POST
 * …/f/conversation/resume or on the WebSocket (`conversation-turn-<turn_id>` topics), and images that
 * arrive later as `add-messages`. The per-page state remembers the pending turn's request (prompt,
 * settings) and every message's raw parent, so answers find their prompt through hidden messages.
 */
import type { Json } from "../core/jcs.ts";
import { DeltaDecoder } from "./chatgpt-delta.ts";
import { isStep, toMsg } from "./chatgpt-message.ts";
import type { Msg, PageState } from "./types.ts";
import { arr, cleanParams, isObj, str, type Obj } from "./util.ts";

/** A turn whose request was seen; its answer may still come on another leg. */
export interface PendingTurn {
  conversationId?: string;
  users: Obj[];
  requestParent?: string;
  params?: { [key: string]: Json };
  act?: Msg["act"];
  awaits?: Msg["awaits"];
  topics: string[];
  turnExchangeId?: string;
}

interface WsTurn {
  items: Map<string, string>;
  lastOffset?: string;
  decoder: DeltaDecoder;
  done: boolean;
  reported: boolean;
  messageCount: number;
}

export interface ChatgptState {
  pending: PendingTurn[];
  /** Every message id seen on this page -> its raw parent id (tree `parent` or `metadata.parent_id`). */
  parents: Map<string, string | undefined>;
  /** Ids of messages that are steps (prompts, answers, generated images). */
  steps: Set<string>;
  /** Root-side ids (the tree's root node, hidden system messages under it) -> the root node's id. */
  roots: Map<string, string>;
  ws: Map<string, WsTurn>;
  /** Titles from tree reads and `title_generation` frames, so later streamed turns carry them. */
  titles: Map<string, string>;
}

export function chatgptState(state: PageState): ChatgptState {
  let s = state.get("chatgpt") as ChatgptState | undefined;
  if (!s) {
    s = { pending: [], parents: new Map(), steps: new Set(), roots: new Map(), ws: new Map(), titles: new Map() };
    state.set("chatgpt", s);
  }
  return s;
}

/**
 * The nearest step at or above `id`: answers can hang under tool or narration messages (RI-I); the
 * first prompt hangs under the system/root node, whose id is kept as the root sentinel (§4.3).
 */
export function nearestStep(s: ChatgptState, id: string | undefined): string | undefined {
  const seen = new Set<string>();
  let cur = id;
  while (cur !== undefined && !seen.has(cur)) {
    seen.add(cur);
    if (s.steps.has(cur)) return cur;
    const root = s.roots.get(cur);
    if (root !== undefined) return root;
    if (!s.parents.has(cur)) return cur; // not seen here: keep the site's id (e.g. client-created-root)
    const next = s.parents.get(cur);
    if (next === undefined) return cur;
    cur = next;
  }
  return cur;
}

/** What the request asked for: the user's settings and what the prompt waits for. */
export function pendingFromRequest(request: Obj): PendingTurn {
  const hints = (arr(request.system_hints) ?? []).filter((h): h is string => typeof h === "string");
  const model = str(request.model);
  const params = cleanParams({
    model, mode: hints.join(","), thinking_effort: request.thinking_effort,
  });
  const users = (arr(request.messages) ?? []).filter(isObj).filter((m) => isObj(m.author) && m.author.role === "user");
  let awaits: Msg["awaits"];
  if (hints.includes("picture_v2")) awaits = "image";
  else if (model?.includes("thinking") || request.thinking_effort !== undefined) awaits = "thinking";
  return {
    conversationId: str(request.conversation_id), users, requestParent: str(request.parent_message_id), params,
    // `action:"variant"` re-sends the existing user message: the user asked for another answer.
    act: request.action === "variant" ? "regenerate" : undefined, awaits, topics: [],
  };
}

export interface Assembled {
  messages: Msg[];
  asyncImage: boolean;
}

/** The turn's prompt(s) and the step messages the decoder holds, with parents resolved. */
export function assemble(s: ChatgptState, base: string, turn: PendingTurn | undefined, decoder: DeltaDecoder | undefined,
  turnDone: boolean, extra: Obj[] = []): Assembled {
  const users = turn?.users ?? [];
  const userIds = new Set(users.map((u) => str(u.id)));
  let lastUser: string | undefined;
  // A variant may name the re-sent prompt itself as the parent of the new answer: that prompt keeps
  // the parent it has.
  const parentOf = (id: string) => (turn?.requestParent === id ? s.parents.get(id) : turn?.requestParent);
  for (const u of users) {
    const id = str(u.id);
    if (!id) continue;
    s.parents.set(id, parentOf(id));
    s.steps.add(id);
    lastUser = id;
  }
  const streamed = [...(decoder?.messages.values() ?? []), ...extra];
  let asyncImage = false;
  for (const m of streamed) {
    const id = str(m.id);
    if (!id) continue;
    const meta = isObj(m.metadata) ? m.metadata : {};
    if (meta.image_gen_async === true) asyncImage = true;
    // The request's parent stands for its prompts (the echo may name the server's hidden system node,
    // which only a tree read maps to the root).
    if (!userIds.has(id) && (!s.parents.has(id) || str(meta.parent_id))) {
      s.parents.set(id, str(meta.parent_id) ?? s.parents.get(id) ?? lastUser);
    }
    if (isStep(m)) s.steps.add(id);
  }
  const messages: Msg[] = [];
  for (const u of users) {
    const id = str(u.id);
    if (!id || !isStep({ ...u, author: { role: "user" } })) continue;
    const msg = toMsg(u, { base, parentId: nearestStep(s, s.parents.get(id)), turnDone: true, params: turn?.params });
    if (turn?.act) msg.act = turn.act;
    const awaits = asyncImage ? "image" : turn?.awaits;
    if (awaits) msg.awaits = awaits;
    messages.push(msg);
  }
  for (const m of streamed) {
    const id = str(m.id);
    if (!id || userIds.has(id) || !s.steps.has(id)) continue;
    messages.push(toMsg(m, { base, parentId: nearestStep(s, s.parents.get(id)), turnDone, params: turn?.params }));
  }
  return { messages, asyncImage };
}

/** The pending turn a later leg belongs to: by topic or turn id, then by conversation, then the newest new chat. */
export function findPending(s: ChatgptState, conversationId?: string, turnId?: string, topic?: string): PendingTurn | undefined {
  const byRoute = s.pending.find((p) => (topic !== undefined && p.topics.includes(topic)) ||
    (turnId !== undefined && (p.turnExchangeId === turnId || p.topics.includes(`conversation-turn-${turnId}`))));
  if (byRoute) return byRoute;
  for (let i = s.pending.length - 1; i >= 0; i--) {
    const p = s.pending[i] as PendingTurn;
    if (conversationId !== undefined && p.conversationId === conversationId) return p;
  }
  // A new-chat leg 1 carries no conversation id anywhere (SBO): the newest such turn.
  return [...s.pending].reverse().find((p) => p.conversationId === undefined);
}

export function dropPending(s: ChatgptState, turn: PendingTurn | undefined): void {
  if (turn) s.pending = s.pending.filter((p) => p !== turn);
}

/** The socket's record of one turn (one socket carries many turns: route by turn id, SBO). */
export function wsTurn(s: ChatgptState, turnId: string): WsTurn {
  let t = s.ws.get(turnId);
  if (!t) {
    t = { items: new Map(), decoder: new DeltaDecoder(), done: false, reported: false, messageCount: 0 };
    s.ws.set(turnId, t);
    if (s.ws.size > 50) s.ws.delete(s.ws.keys().next().value as string);
  }
  return t;
}

/** `<ms>-<seq>` offsets, compared numerically part by part (WG-H). */
export function compareOffsets(a: string, b: string): number {
  const pa = a.split("-").map(Number);
  const pb = b.split("-").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One WebSocket stream item for a turn: de-duplicated and applied in offset order. */
export function wsItem(s: ChatgptState, turnId: string, offset: string, encoded: string,
  feed: (d: DeltaDecoder, encoded: string) => void): WsTurn {
  const t = wsTurn(s, turnId);
  if (t.items.has(offset)) return t;
  t.items.set(offset, encoded);
  if (t.lastOffset === undefined || compareOffsets(offset, t.lastOffset) > 0) {
    t.lastOffset = offset;
    feed(t.decoder, encoded);
  } else {
    // A late (catch-up) item: replay the turn in offset order.
    t.decoder = new DeltaDecoder();
    for (const key of [...t.items.keys()].sort(compareOffsets)) feed(t.decoder, t.items.get(key) as string);
  }
  return t;
}

/** Messages of an `add-messages` update, whether listed bare or as `{message}` wrappers. */
export function addedMessages(update: Obj): Obj[] {
  const list = arr(update.messages) ?? arr(isObj(update.payload) ? update.payload.messages : undefined) ?? [];
  return list.filter(isObj).map((m) => (isObj(m.message) ? m.message : m));
}
