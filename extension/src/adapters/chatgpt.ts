/**
 * ChatGPT (live-traffic-2026.md §2.1): turns stream on POST /backend-api/f/conversation (SSE, delta v1),
 * thinking turns hand off to POST …/f/conversation/resume or to the WebSocket at ws.chatgpt.com,
 * generated images arrive later as `add-messages`; after every turn the saved tree
 * (GET /backend-api/conversation/{id}: `mapping`, `current_node`) is read again, and again later
 * when an image is due. The account comes from GET /backend-api/me.
 */
import { DeltaDecoder } from "./chatgpt-delta.ts";
import { isStep, toMsg } from "./chatgpt-message.ts";
import {
  addedMessages, assemble, chatgptState, dropPending, findPending, nearestStep, pendingFromRequest, wsItem, wsTurn,
  type ChatgptState, type PendingTurn,
} from "./chatgpt-turn.ts";
import type { Capabilities, Exchange, Msg, Observation, PageState, SiteAdapter } from "./types.ts";
import { Drift, arr, guardedAs, isObj, need, parseJson, parseSse, probeTurns, str, type Obj } from "./util.ts";

const HOST = "(?:chatgpt\\.com|chat\\.openai\\.com)";
const TREE = new RegExp(`^https://${HOST}/backend-api/conversations?/([0-9a-f-]{8,64})(?:\\?|$)`);
const TURN = new RegExp(`^https://${HOST}/backend-api/(?:f/)?conversation(?:\\?|$)`);
const RESUME = new RegExp(`^https://${HOST}/backend-api/f/conversation/resume(?:\\?|$)`);
const ME = new RegExp(`^https://${HOST}/backend-api/me(?:\\?|$)`);
const SOCKET = /^wss:\/\/ws\.chatgpt\.com\//;

/** Re-read the tree now and later: the GET tree catches images that finish after the stream (§4.7). */
const DELAYS = [0, 8000, 25000];
const IMAGE_DELAYS = [0, 8000, 25000, 60000, 120000];

function baseOf(url: string): string {
  const u = new URL(url);
  return u.hostname === "ws.chatgpt.com" ? "https://chatgpt.com" : u.origin;
}

function reconcile(base: string, sessionId: string, asyncImage: boolean): Observation {
  return { kind: "reconcile", url: `${base}/backend-api/conversation/${sessionId}`, delays: asyncImage ? IMAGE_DELAYS : DELAYS };
}

/**
 * A live sighting. Once the turn is over, its newest finished answer is what the page shows: the
 * active leaf (as the saved tree's `current_node` will say), so a later move elsewhere is a choice.
 */
function snapshot(s: ChatgptState, base: string, sessionId: string, messages: Msg[], title?: string,
  turnDone = false): Observation {
  if (title) s.titles.set(sessionId, title);
  const leaf = turnDone ? messages.filter((m) => m.role === "ai" && m.complete).at(-1)?.id : undefined;
  return { kind: "snapshot", snapshot: { sessionId, url: `${base}/c/${sessionId}`, title: s.titles.get(sessionId),
    messages, source: "stream", currentId: leaf } };
}

/** The saved conversation: a `mapping` tree, or (another build) a `messages` list with `current_node`. */
function parseTree(ex: Exchange, s: ChatgptState): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the conversation response is not a JSON object");
  const sessionId = need(str(body.conversation_id) ?? str(body.id), "conversation_id");
  const base = baseOf(ex.url);
  const nodes = new Map<string, { message?: Obj; parent?: string }>();
  if (isObj(body.mapping)) {
    for (const [key, node] of Object.entries(body.mapping)) {
      if (!isObj(node)) throw new Drift(`mapping.${key} is not an object`);
      nodes.set(key, { message: isObj(node.message) ? node.message : undefined, parent: str(node.parent) });
    }
  } else if (Array.isArray(body.messages)) {
    for (const [i, m] of body.messages.entries()) {
      if (!isObj(m)) throw new Drift(`messages[${i}] is not an object`);
      const meta = isObj(m.metadata) ? m.metadata : {};
      nodes.set(need(str(m.id), `messages[${i}].id`), { message: m, parent: str(m.parent) ?? str(meta.parent_id) });
    }
  } else throw new Drift("expected a `mapping` object or a `messages` list");
  // Parents before children, breadth first from the roots, keeping sibling order.
  const children = new Map<string | undefined, string[]>();
  for (const [id, node] of nodes) {
    const key = node.parent !== undefined && nodes.has(node.parent) ? node.parent : undefined;
    children.set(key, [...(children.get(key) ?? []), id]);
  }
  const order: string[] = [];
  const queue = [...(children.get(undefined) ?? [])];
  while (queue.length) {
    const id = queue.shift() as string;
    order.push(id);
    queue.push(...(children.get(id) ?? []));
  }
  for (const id of order) {
    const node = nodes.get(id) as { message?: Obj; parent?: string };
    s.parents.set(id, node.parent);
    if (node.message && isStep(node.message)) s.steps.add(id);
    else if (node.parent === undefined || !nodes.has(node.parent)) s.roots.set(id, id);
    else {
      // A hidden system message under the root: the first prompt's parent is still the root (§3).
      const root = s.roots.get(node.parent);
      if (root !== undefined) s.roots.set(id, root);
    }
  }
  const messages: Msg[] = [];
  for (const id of order) {
    const node = nodes.get(id) as { message?: Obj; parent?: string };
    if (!node.message || !s.steps.has(id)) continue;
    messages.push(toMsg(node.message, { base, parentId: nearestStep(s, node.parent), turnDone: true }));
  }
  const current = str(body.current_node);
  const title = str(body.title);
  if (title) s.titles.set(sessionId, title);
  return [{
    kind: "snapshot",
    snapshot: {
      sessionId, title, url: `${base}/c/${sessionId}`, messages, source: "history",
      currentId: current !== undefined ? nearestStep(s, current) : undefined, treeIds: [...nodes.keys()],
    },
  }];
}

/** Leg 1: the page's POST …/f/conversation. A thinking turn ends here with a handoff. */
function parseTurn(ex: Exchange, s: ChatgptState): Observation[] {
  const request = parseJson(ex.requestBody);
  if (!isObj(request)) throw new Drift("the conversation request body is not JSON");
  const base = baseOf(ex.url);
  const events = parseSse(ex.responseText);
  const decoder = new DeltaDecoder();
  decoder.feedSse(events);
  if (events.length && decoder.understood === 0) {
    return [{ kind: "drift", code: "no-parse", reason: "ChatGPT stream: no frame in a shape this adapter knows" }];
  }
  const turn = pendingFromRequest(request);
  turn.conversationId ??= decoder.conversationId ?? decoder.handoff?.conversationId;
  if (decoder.handoff) {
    // A handoff-only leg 1 is normal (SBO): the answer follows on /resume or the WebSocket.
    turn.topics = decoder.handoff.topics;
    turn.turnExchangeId = decoder.handoff.turnExchangeId;
    if (decoder.turnTopic) turn.topics.push(decoder.turnTopic);
    turn.awaits ??= "thinking";
    s.pending.push(turn);
    if (s.pending.length > 20) s.pending.shift();
  }
  const done = !decoder.handoff && (decoder.complete || decoder.ended);
  const { messages, asyncImage } = assemble(s, base, turn, decoder, done);
  const out: Observation[] = [];
  if (done && decoder.messages.size === 0 && decoder.error === undefined) {
    out.push({ kind: "drift", code: "unknown-shape", sessionId: turn.conversationId,
      reason: "ChatGPT stream: the turn ended with no message and no handoff" });
  }
  if (!turn.conversationId) return out; // a temporary chat, or a new chat whose id comes on the next leg
  out.push(snapshot(s, base, turn.conversationId, messages, decoder.title, done));
  if (done) out.push(reconcile(base, turn.conversationId, asyncImage));
  return out;
}

/** Leg 2 over HTTP: POST …/f/conversation/resume {conversation_id, offset}, the same grammar. */
function parseResume(ex: Exchange, s: ChatgptState): Observation[] {
  const request = parseJson(ex.requestBody);
  const base = baseOf(ex.url);
  const decoder = new DeltaDecoder();
  const events = parseSse(ex.responseText);
  decoder.feedSse(events);
  if (events.length && decoder.understood === 0) {
    return [{ kind: "drift", code: "no-parse", reason: "ChatGPT resume stream: no frame in a shape this adapter knows" }];
  }
  const conversationId = (isObj(request) ? str(request.conversation_id) : undefined) ?? decoder.conversationId;
  const turn = findPending(s, conversationId);
  const sessionId = conversationId ?? turn?.conversationId;
  if (!sessionId) throw new Drift("the resume leg names no conversation");
  if (turn) turn.conversationId = sessionId;
  const done = decoder.complete || decoder.ended;
  const { messages, asyncImage } = assemble(s, base, turn, decoder, done);
  if (done) dropPending(s, turn);
  const out = [snapshot(s, base, sessionId, messages, decoder.title, done)];
  if (done) out.push(reconcile(base, sessionId, asyncImage));
  return out;
}

function feedEncoded(d: DeltaDecoder, encoded: string): void {
  d.feedSse(parseSse(encoded.endsWith("\n\n") ? encoded : `${encoded}\n\n`));
}

/** One WebSocket text frame: a JSON array of topic messages (SBO, WG-H, RI-W). */
function parseSocket(ex: Exchange, s: ChatgptState): Observation[] {
  const frame = parseJson(ex.responseText);
  // Keep-alives and acknowledgements that are not JSON arrays or objects are normal.
  const items = Array.isArray(frame) ? frame : isObj(frame) ? [frame] : [];
  const base = baseOf(ex.url);
  const out: Observation[] = [];
  const touched = new Map<string, { conversationId?: string; topic?: string }>();
  const visit = (item: unknown): void => {
    if (!isObj(item)) return;
    const reply = isObj(item.reply) ? item.reply : item.type === "reply" && isObj(item.payload) ? item.payload : undefined;
    for (const c of arr(reply?.catchups) ?? []) visit(c);
    if (item.type !== "message" || !isObj(item.payload)) return;
    const outer = item.payload;
    const inner = isObj(outer.payload) ? outer.payload : {};
    if (outer.type === "conversation-turn-stream") {
      const turnId = need(str(inner.turn_id), "stream item turn_id");
      if (inner.type === "stream-item") {
        const encoded = need(str(inner.encoded_item), "stream item encoded_item");
        const offset = str(item.offset) ?? String(item.offset ?? "");
        wsItem(s, turnId, offset, encoded, feedEncoded);
      } else if (inner.type === "done") {
        wsTurn(s, turnId).done = true;
      }
      touched.set(turnId, { conversationId: str(inner.conversation_id), topic: str(item.topic_id) });
    } else if (outer.type === "conversation-turn-complete") {
      const turnId = str(inner.turn_id) ?? str(outer.turn_id);
      if (turnId) {
        wsTurn(s, turnId).done = true;
        touched.set(turnId, { conversationId: str(inner.conversation_id) ?? str(outer.conversation_id) });
      }
    } else if (outer.type === "conversation-update") {
      const update = isObj(outer.payload) ? outer.payload : outer;
      if (update.update_type !== "add-messages") return;
      const sessionId = need(str(update.conversation_id) ?? str(outer.conversation_id), "add-messages conversation_id");
      const { messages } = assemble(s, base, undefined, undefined, true, addedMessages(update));
      out.push(snapshot(s, base, sessionId, messages), reconcile(base, sessionId, false));
    }
  };
  for (const item of items) visit(item);
  for (const [turnId, route] of touched) {
    const t = s.ws.get(turnId);
    if (!t) continue;
    const turn: PendingTurn | undefined = findPending(s, route.conversationId ?? t.decoder.conversationId, turnId, route.topic);
    const sessionId = route.conversationId ?? t.decoder.conversationId ?? turn?.conversationId;
    if (!sessionId) continue;
    if (turn) turn.conversationId = sessionId;
    const grew = t.decoder.messages.size !== t.messageCount;
    const finished = t.done || t.decoder.complete;
    if (!grew && !(finished && !t.reported) && t.messageCount > 0) continue;
    t.messageCount = t.decoder.messages.size;
    const { messages, asyncImage } = assemble(s, base, turn, t.decoder, finished);
    out.push(snapshot(s, base, sessionId, messages, t.decoder.title, finished));
    if (finished && !t.reported) {
      t.reported = true;
      dropPending(s, turn);
      out.push(reconcile(base, sessionId, asyncImage));
    }
  }
  return out;
}

/** GET /backend-api/me: the signed-in account as the site names it (id and display name only). */
function parseMe(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the account response is not a JSON object");
  const id = need(str(body.id), "the account's `id`");
  return [{ kind: "identity", identity: { id, name: str(body.name), source: "GET /backend-api/me" } }];
}

const capabilities: Capabilities = {
  liveTurns: "public-capture", history: "public-capture", edits: "public-capture", regenerations: "public-capture",
  selection: "public-capture", model: "public-capture", images: "public-capture",
  // GET /backend-api/me is the account call the page makes; its shape {id, name} follows public clients.
  identity: "documented",
};

export const chatgpt: SiteAdapter = {
  id: "chatgpt",
  version: 2,
  name: "ChatGPT",
  capabilities,
  hosts: ["chatgpt.com", "chat.openai.com"],
  // The files API's signed download_url points at files.oaiusercontent.com or a regional
  // sdmntpr<region>.oaiusercontent.com host, which varies: the user-content domain as a whole.
  imageHosts: ["*.oaiusercontent.com"],
  capture: [TREE, TURN, RESUME, ME],
  captureWs: [SOCKET],
  authHeaders: ["authorization", "chatgpt-account-id"],
  identityRequest(origin) {
    return { url: `${origin}/backend-api/me`, method: "GET" };
  },
  sessionFromUrl(url) {
    const m = /^\/(?:g\/[^/]+\/)?c\/([0-9a-f-]{8,64})/.exec(url.pathname);
    return m?.[1] ?? null;
  },
  parse(ex: Exchange, state: PageState) {
    const s = chatgptState(state);
    if (ex.method === "WS") return SOCKET.test(ex.url) ? guardedAs("ChatGPT socket", "unknown-shape", () => parseSocket(ex, s)) : [];
    if (ex.status < 200 || ex.status >= 300) return [];
    if (ex.method === "GET" && TREE.test(ex.url)) return guardedAs("ChatGPT conversation", "unknown-shape", () => parseTree(ex, s));
    if (ex.method === "GET" && ME.test(ex.url)) return guardedAs("ChatGPT account", "unknown-shape", () => parseMe(ex));
    if (ex.method === "POST" && RESUME.test(ex.url)) return guardedAs("ChatGPT resume", "unknown-shape", () => parseResume(ex, s));
    if (ex.method === "POST" && TURN.test(ex.url)) return guardedAs("ChatGPT stream", "unknown-shape", () => parseTurn(ex, s));
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null, [
      "[data-message-author-role]", "[data-testid^='conversation-turn-']", "[data-turn]",
    ]);
    // One turn wrapper per prompt and per answer: an answer's narration, thinking and tool messages
    // sit inside one wrapper, so the message markers are counted by the wrapper that holds them.
    const wrappers = new Set<Element>();
    for (const el of Array.from(doc.querySelectorAll("[data-message-author-role]"))) {
      wrappers.add(el.closest("[data-testid^='conversation-turn-'], [data-turn], article") ?? el);
    }
    return wrappers.size > 0 ? { ...health, turns: wrappers.size } : health;
  },
};
