/**
 * DeepSeek (live-traffic-2026.md §2.4). A turn streams from POST /api/v0/chat/completion as SSE of
 * `{p, o, v}` patch frames on a `response` object (patch.ts), framed by the events `ready` (the turn's
 * message ids and `model_type`, the model that answers), `finish` and `close`; the answer is
 * `content` (or the RESPONSE `fragments[]`), never `thinking_content` (THINK fragments). After each
 * turn the session is read again with GET /api/v0/chat/history_messages?chat_session_id=… without
 * the page's `cache_version`, which would answer only a delta (§2.4, GF strips it too). The history
 * gives integer ids, `parent_id: null` for first prompts (ROOT_PARENT: an edited first prompt is a
 * sibling under the root), `thinking_enabled` / `search_enabled` and `current_message_id`.
 */
import type { Json } from "../core/jcs.ts";
import { CodedDrift, guardedWithCode } from "./guard.ts";
import { applyFrame, type PatchCursor } from "./patch.ts";
import { ROOT_PARENT, type Exchange, type Msg, type Observation, type PageState, type SiteAdapter } from "./types.ts";
import { arr, cleanParams, isObj, isoTime, parseJson, parseSse, probeTurns, str, type Obj } from "./util.ts";

const ORIGIN = "https://chat.deepseek.com";
// Regenerate and edit stream the same grammar from sibling endpoints (seen in public clients; the
// reference names only /completion, so these two are accepted, not relied on).
const COMPLETION = /^https:\/\/chat\.deepseek\.com\/api\/v0\/chat\/(completion|regenerate|edit_message)(?:\?|$)/;
const HISTORY = /^https:\/\/chat\.deepseek\.com\/api\/v0\/chat\/history_messages\?/;
const TURN_SELECTORS = ["[data-um-id]", ".ds-markdown"];

interface Memory {
  /** `model_type` of the `ready` event per answer id: the saved history says `model: ""`. */
  models: Map<string, string>;
  /** Requested settings per user message id, from the request body. */
  params: Map<string, { [key: string]: Json }>;
  /** Parents seen in the stream, for an edit whose request names only the edited message. */
  parents: Map<string, string>;
  /** Answers whose stream ended without `finish` / FINISHED: stopped by the user or cut off. */
  unfinished: Set<string>;
}

function memoryOf(state: PageState): Memory {
  let m = state.get("deepseek") as Memory | undefined;
  if (!m) {
    m = { models: new Map(), params: new Map(), parents: new Map(), unfinished: new Set() };
    state.set("deepseek", m);
  }
  return m;
}

function idOf(v: unknown): string | undefined {
  return typeof v === "number" && Number.isFinite(v) ? String(v) : str(v) || undefined;
}

function parentOf(v: unknown): string | undefined {
  return v === null ? ROOT_PARENT : idOf(v);
}

/** The visible text: `content`, or the fragments of the given types; reasoning stays out. */
function textOf(m: Obj, types: readonly string[]): string | undefined {
  const fragments = arr(m.fragments);
  if (fragments?.length) {
    const parts = fragments.filter(isObj).filter((f) => types.includes(str(f.type) ?? "")).map((f) => str(f.content) ?? "");
    return parts.join("\n\n").trim() || undefined;
  }
  return str(m.content)?.trim() || undefined;
}

function historyUrl(sessionId: string): string {
  return `${ORIGIN}/api/v0/chat/history_messages?chat_session_id=${encodeURIComponent(sessionId)}`;
}

function modelMeta(model: string | undefined): { [key: string]: Json } | undefined {
  return model ? { model, model_source: "ready.model_type" } : undefined;
}

function parseCompletion(ex: Exchange, mem: Memory): Observation[] {
  const request = parseJson(ex.requestBody);
  if (!isObj(request)) throw new CodedDrift("the completion request body is not JSON");
  const sessionId = str(request.chat_session_id);
  const kind = COMPLETION.exec(ex.url)?.[1];
  const events = parseSse(ex.responseText);
  if (!events.length) return [];
  const root: Obj = {};
  const cursor: PatchCursor = {};
  let ready: Obj | undefined;
  let finished = false;
  let understood = 0;
  let siteError = false;
  for (const ev of events) {
    const data = parseJson(ev.data);
    if (ev.event === "ready" && isObj(data)) {
      ready = data;
      understood++;
    } else if (ev.event === "finish") {
      finished = true;
      understood++;
    } else if (ev.event === "close" || ev.event === "update_session" || ev.event === "title" || ev.event === "keep-alive") {
      understood++;
    } else if (isObj(data) && ("code" in data || "error" in data) && !("v" in data)) {
      siteError = true; // the site refused the turn inside the stream (rate limit, busy)
    } else if (isObj(data) && applyFrame(root, data, cursor)) understood++;
  }
  if (!understood) {
    if (siteError) return [];
    throw new CodedDrift("the completion stream carried no frame this adapter understands", "no-parse");
  }
  if (!sessionId) throw new CodedDrift("the completion request names no chat_session_id");
  const response = isObj(root.response) ? root.response : {};
  if (response.status === "FINISHED" || response.quasi_status === "FINISHED") finished = true;
  const userId = idOf(ready?.request_message_id);
  const answerId = idOf(ready?.response_message_id) ?? idOf(response.message_id);
  const model = str(ready?.model_type) || undefined;
  const params = cleanParams({ thinking: request.thinking_enabled, search: request.search_enabled });
  const messages: Msg[] = [];
  const prompt = str(request.prompt)?.trim();
  if (userId && prompt && kind !== "regenerate") {
    // An edit names the message it replaces; the new message is its sibling.
    const edited = kind === "edit_message" ? idOf(request.message_id) : undefined;
    const parent = edited ? mem.parents.get(edited) : parentOf(request.parent_message_id);
    if (parent) mem.parents.set(userId, parent);
    if (params) mem.params.set(userId, params);
    messages.push({ id: userId, role: "user", text: prompt, parentId: parent, complete: true, params,
      act: kind === "edit_message" ? "edit" : undefined, awaits: request.thinking_enabled === true ? "thinking" : "text" });
  }
  if (answerId) {
    if (model) mem.models.set(answerId, model);
    const parent = idOf(response.parent_id) ?? userId ?? idOf(request.parent_message_id);
    if (parent) mem.parents.set(answerId, parent);
    const text = textOf(response, ["RESPONSE"]);
    if (finished) mem.unfinished.delete(answerId);
    else mem.unfinished.add(answerId);
    if (text) messages.push({ id: answerId, role: "ai", text, parentId: parent, complete: finished, params, meta: modelMeta(model) });
  }
  return [
    { kind: "snapshot", snapshot: { sessionId, url: `${ORIGIN}/a/chat/s/${sessionId}`, messages, source: "stream", currentId: finished ? answerId : undefined } },
    { kind: "reconcile", url: historyUrl(sessionId), delays: finished ? [1000] : [1000, 8000] },
  ];
}

function parseHistory(ex: Exchange, mem: Memory): Observation[] {
  const body = parseJson(ex.responseText);
  const biz = isObj(body) && isObj(body.data) && isObj(body.data.biz_data) ? body.data.biz_data : undefined;
  if (!biz) throw new CodedDrift("no data.biz_data in the history answer");
  const session = isObj(biz.chat_session) ? biz.chat_session : undefined;
  const sessionId = str(session?.id) ?? new URL(ex.url).searchParams.get("chat_session_id") ?? undefined;
  if (!sessionId) throw new CodedDrift("no chat_session.id in the history answer");
  const list = arr(biz.chat_messages);
  if (!list) throw new CodedDrift("no `chat_messages` array in the history answer");
  const messages: Msg[] = [];
  const ids: string[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObj(m)) throw new CodedDrift(`chat_messages[${i}] is not an object`);
    const id = idOf(m.message_id);
    const role = str(m.role);
    if (!id || (role !== "USER" && role !== "ASSISTANT")) throw new CodedDrift(`chat_messages[${i}] has no message_id or a role ${String(role)}`);
    ids.push(id);
    const user = role === "USER";
    const text = textOf(m, user ? ["REQUEST"] : ["RESPONSE"]);
    if (!text) continue;
    const parentId = parentOf(m.parent_id) ?? mem.parents.get(id);
    if (user) {
      const params = cleanParams({ thinking: m.thinking_enabled, search: m.search_enabled }) ?? mem.params.get(id);
      messages.push({ id, role: "user", text, parentId, complete: true, createdAt: isoTime(m.inserted_at), params });
      continue;
    }
    // FINISHED is done; INCOMPLETE is what the site saved of a stopped answer; WIP still streams.
    const status = str(m.status);
    const complete = status === "FINISHED" || status === "INCOMPLETE" || (status !== "WIP" && mem.unfinished.has(id));
    const model = mem.models.get(id) ?? (str(m.model) || undefined);
    messages.push({
      id, role: "ai", text, parentId, complete, createdAt: isoTime(m.inserted_at),
      stopped: complete && (status === "INCOMPLETE" || mem.unfinished.has(id)) ? true : undefined,
      meta: model ? { model, model_source: mem.models.has(id) ? "ready.model_type" : "model" } : undefined,
    });
  }
  // Read without `cache_version`, the history is the whole saved tree, every branch (edits and
  // regenerations are siblings in it, §2.4); the page's own reads carry it and may answer a delta or
  // nothing, which says nothing of the messages left out.
  const whole = !new URL(ex.url).searchParams.has("cache_version");
  return [{ kind: "snapshot", snapshot: {
    sessionId, title: str(session?.title) || undefined, url: `${ORIGIN}/a/chat/s/${sessionId}`, messages,
    source: "history", currentId: idOf(session?.current_message_id), treeIds: whole ? ids : undefined,
  } }];
}

export const deepseek: SiteAdapter = {
  id: "deepseek",
  version: 2,
  name: "DeepSeek",
  capabilities: {
    liveTurns: "public-capture", history: "public-capture", edits: "public-capture", regenerations: "public-capture",
    selection: "documented", model: "public-capture", images: "none", identity: "none",
  },
  hosts: ["chat.deepseek.com"],
  imageHosts: [],
  capture: [COMPLETION, HISTORY],
  authHeaders: ["authorization"],
  sessionFromUrl(url) {
    return /^\/a\/chat\/s\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200) return [];
    const mem = memoryOf(state);
    if (ex.method === "POST" && COMPLETION.test(ex.url)) return guardedWithCode("DeepSeek completion", undefined, () => parseCompletion(ex, mem));
    if (ex.method === "GET" && HISTORY.test(ex.url)) return guardedWithCode("DeepSeek history", undefined, () => parseHistory(ex, mem));
    return [];
  },
  probeDom(doc, url) {
    // No `turns` count: the public sources name these markers, not which of them is one message
    // (a reasoning block may share an answer's class), and an overcount would raise false gaps.
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [...TURN_SELECTORS, "[class*='ds-message']"]);
  },
};
