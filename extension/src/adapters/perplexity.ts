/**
 * Perplexity (live-traffic-2026.md §2.7). An ask streams from POST /rest/sse/perplexity_ask as SSE
 * `message` events holding cumulative snapshots of the ask, ending with `end_of_stream`; the request
 * carries `query_str`, `params.model_preference` (the requested model) and, on follow-ups,
 * `params.last_backend_uuid` (the ask it follows). A snapshot's `backend_uuid` names the ask and
 * `display_model` the model that answered; the answer sits where the build puts it
 * (perplexity-answer.ts). After each ask the thread is read again with GET /rest/thread/{slug},
 * every page (`has_next_page` / `next_cursor`).
 *
 * Message ids: an answer is `<backend_uuid>:a`. A question is named by what it follows and its
 * text, `q:<hash>`: a rewrite asks the same question after the same answer under a new backend_uuid,
 * so it is the same user turn with a second answer (a regeneration), whether the stream shows it or
 * a thread read after a reload does, when the page's memory of the stream is gone.
 */
import type { Json } from "../core/jcs.ts";
import { CodedDrift, guardedWithCode } from "./guard.ts";
import { answerOf } from "./perplexity-answer.ts";
import { ROOT_PARENT, type Exchange, type Msg, type Observation, type PageState, type SiteAdapter } from "./types.ts";
import { arr, cleanParams, isObj, isoTime, parseJson, parseSse, probeTurns, str, type Obj } from "./util.ts";

const ORIGIN = "https://www.perplexity.ai";
const ASK = /^https:\/\/www\.perplexity\.ai\/rest\/sse\/perplexity_ask(?:\?|$)/;
const THREAD = /^https:\/\/www\.perplexity\.ai\/rest\/thread\/([A-Za-z0-9._-]{4,200})(?:\?|$)/;
const TURN_SELECTORS = ["[id^='markdown-content-']", "h1.group\\/query"];

interface Listed {
  backend: string;
  query: string;
  parent?: string;
}

interface Memory {
  /** Thread slug per ask (backend_uuid), so a follow-up lands in its thread's session. */
  sessions: Map<string, string>;
  /** The parent of each ask seen streaming (`<last_backend_uuid>:a` or the root), by backend_uuid. */
  followed: Map<string, string>;
  params: Map<string, { [key: string]: Json }>;
  /** The last entry of the page that offered a cursor, per `<slug> <cursor>`: what that page's first follows. */
  before: Map<string, Listed>;
  /** The page cursors a thread has offered, per slug: re-read after an ask with the first page. */
  cursors: Map<string, string[]>;
  unfinished: Set<string>;
}

function memoryOf(state: PageState): Memory {
  let m = state.get("perplexity") as Memory | undefined;
  if (!m) {
    m = { sessions: new Map(), followed: new Map(), params: new Map(), before: new Map(), cursors: new Map(), unfinished: new Set() };
    state.set("perplexity", m);
  }
  return m;
}

function threadUrl(slug: string, cursor?: string): string {
  return `${ORIGIN}/rest/thread/${slug}` + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : "");
}

/** FNV-1a over the text, as 8 hex digits: a name, not a security digest. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

function questionId(parent: string, query: string): string {
  return `q:${fnv1a(`${parent}\n${query.trim()}`)}`;
}

/** Merge a cumulative snapshot into the ask: fields replace, blocks replace per `intended_usage`. */
function merge(ask: Obj, frame: Obj): void {
  const blocks = new Map<string, unknown>();
  for (const b of arr(ask.blocks) ?? []) blocks.set(isObj(b) ? str(b.intended_usage) ?? `#${blocks.size}` : `#${blocks.size}`, b);
  Object.assign(ask, frame);
  if (arr(frame.blocks)) {
    for (const b of arr(frame.blocks) ?? []) blocks.set(isObj(b) ? str(b.intended_usage) ?? `#${blocks.size}` : `#${blocks.size}`, b);
    ask.blocks = [...blocks.values()];
  }
}

/** `display_model` is the model that answered; `model_preference` in the request only asked for one. */
function facts(ask: Obj): { meta?: { [key: string]: Json } } {
  const model = str(ask.display_model);
  return model ? { meta: { model, model_source: "display_model" } } : {};
}

function parseAsk(ex: Exchange, mem: Memory): Observation[] {
  const req = parseJson(ex.requestBody);
  if (!isObj(req)) throw new CodedDrift("the ask request body is not JSON");
  const p = isObj(req.params) ? req.params : {};
  const events = parseSse(ex.responseText);
  if (!events.length) return [];
  const ask: Obj = {};
  let ended = false;
  let understood = 0;
  for (const ev of events) {
    const data = parseJson(ev.data);
    if (ev.event === "end_of_stream") {
      ended = true;
      understood++;
    } else if (isObj(data) && (typeof data.backend_uuid === "string" || arr(data.blocks) || typeof data.text === "string")) {
      merge(ask, data);
      understood++;
    } else if (ev.event === "message" && isObj(data) && (data.error_code !== undefined || data.status === "FAILED")) {
      return []; // the site refused the ask inside the stream
    }
  }
  if (!understood) throw new CodedDrift("the ask stream carried no snapshot this adapter understands", "no-parse");
  const backend = str(ask.backend_uuid);
  if (!backend) throw new CodedDrift("no backend_uuid in the ask's snapshots");
  const done = ended || ask.status === "COMPLETED" || ask.final === true;
  const last = str(p.last_backend_uuid) || undefined;
  const sessionId = str(ask.thread_url_slug) || (last ? mem.sessions.get(last) : undefined) || (last ? undefined : backend);
  if (!sessionId) throw new CodedDrift("a follow-up whose thread is neither in its snapshots nor seen before");
  mem.sessions.set(backend, sessionId);
  const query = str(req.query_str) ?? str(p.query_str) ?? str(ask.query_str);
  const parent = last ? `${last}:a` : ROOT_PARENT;
  const params = cleanParams({ model: p.model_preference, mode: p.mode, search_focus: p.search_focus, sources: arr(p.sources)?.join(",") });
  const userId = questionId(parent, query ?? "");
  mem.followed.set(backend, parent);
  if (params) mem.params.set(userId, params);
  const answerId = `${backend}:a`;
  if (done) mem.unfinished.delete(answerId);
  else mem.unfinished.add(answerId);
  const messages: Msg[] = [];
  if (query?.trim()) messages.push({ id: userId, role: "user", text: query.trim(), parentId: parent, complete: true, params });
  const answer = answerOf(ask);
  if (answer) messages.push({ id: answerId, role: "ai", text: answer, parentId: userId, complete: done, params, ...facts(ask) });
  // A re-read's own answer cannot ask for the next page (re-reads do not chain), so every page the
  // thread has offered so far is read again with the first.
  const pages = [undefined, ...(mem.cursors.get(sessionId) ?? [])];
  return [
    { kind: "snapshot", snapshot: { sessionId, title: str(ask.thread_title) || undefined, url: `${ORIGIN}/search/${sessionId}`, messages, source: "stream" } },
    ...pages.map((cursor): Observation => ({ kind: "reconcile", url: threadUrl(sessionId, cursor), delays: done ? [1500] : [1500, 8000] })),
  ];
}

function parseThread(ex: Exchange, mem: Memory): Observation[] {
  const slug = THREAD.exec(ex.url)?.[1] as string;
  const cursor = new URL(ex.url).searchParams.get("cursor");
  const body = parseJson(ex.responseText);
  const entries = isObj(body) ? arr(body.entries) : undefined;
  if (!entries) throw new CodedDrift("no `entries` array in the thread");
  const messages: Msg[] = [];
  // Entries are oldest first; a thread is a line of asks, so an entry follows the one before it
  // unless the stream said otherwise. The first entry of the first page starts the thread.
  let previous = cursor ? mem.before.get(`${slug} ${cursor}`) : undefined;
  for (const [i, e] of entries.entries()) {
    if (!isObj(e)) throw new CodedDrift(`entries[${i}] is not an object`);
    const backend = str(e.backend_uuid);
    const query = str(e.query_str);
    if (!backend || query === undefined) throw new CodedDrift(`entries[${i}] has no backend_uuid or query_str`);
    mem.sessions.set(backend, slug);
    // The stream said what the ask followed; otherwise the entry before it, or, when it repeats the
    // question of the entry before it, that entry's parent (a rewrite listed beside the original).
    let parent = mem.followed.get(backend);
    if (parent === undefined && previous) parent = previous.query === query.trim() ? previous.parent : `${previous.backend}:a`;
    if (parent === undefined && !cursor && i === 0) parent = ROOT_PARENT;
    const userId = parent !== undefined ? questionId(parent, query) : `q:${backend}`;
    const createdAt = isoTime(e.entry_updated_datetime ?? e.updated_datetime);
    const params = mem.params.get(userId) ?? cleanParams({ model: e.model_preference, mode: e.mode, search_focus: e.search_focus });
    if (query.trim()) messages.push({ id: userId, role: "user", text: query.trim(), parentId: parent, complete: true, createdAt, params });
    const answer = answerOf(e);
    const answerId = `${backend}:a`;
    const status = str(e.status);
    // COMPLETED is done; a saved answer whose stream ended early was stopped.
    const stopped = status !== "COMPLETED" && status !== "PENDING" && mem.unfinished.has(answerId);
    if (answer) messages.push({ id: answerId, role: "ai", text: answer, parentId: userId, createdAt, params,
      complete: status === "COMPLETED" || stopped, stopped: stopped || undefined, ...facts(e) });
    previous = { backend, query: query.trim(), parent };
  }
  const title = isObj(entries[0]) ? str(entries[0].thread_title) || undefined : undefined;
  const out: Observation[] = [{ kind: "snapshot", snapshot: { sessionId: slug, title, url: `${ORIGIN}/search/${slug}`, messages, source: "history" } }];
  const next = isObj(body) && body.has_next_page === true ? str(body.next_cursor) : undefined;
  if (next) {
    if (previous) mem.before.set(`${slug} ${next}`, previous);
    const known = mem.cursors.get(slug) ?? [];
    if (!known.includes(next)) mem.cursors.set(slug, [...known, next].slice(-20));
    out.push({ kind: "reconcile", url: threadUrl(slug, next), delays: [0] });
  }
  return out;
}

export const perplexity: SiteAdapter = {
  id: "perplexity",
  version: 2,
  name: "Perplexity",
  capabilities: {
    liveTurns: "public-capture", history: "public-capture", edits: "none", regenerations: "documented",
    selection: "none", model: "public-capture", images: "none", identity: "none",
  },
  hosts: ["www.perplexity.ai"],
  imageHosts: [],
  capture: [ASK, THREAD],
  sessionFromUrl(url) {
    return /^\/search\/([A-Za-z0-9._-]{4,200})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200) return [];
    const mem = memoryOf(state);
    if (ex.method === "POST" && ASK.test(ex.url)) return guardedWithCode("Perplexity ask", undefined, () => parseAsk(ex, mem));
    if (ex.method === "GET" && THREAD.test(ex.url)) return guardedWithCode("Perplexity thread", undefined, () => parseThread(ex, mem));
    return [];
  },
  probeDom(doc, url) {
    // No `turns` count: the public sources name these markers, not which of them is one message
    // (a reasoning block may share an answer's class), and an overcount would raise false gaps.
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [...TURN_SELECTORS, ".prose"]);
  },
};
