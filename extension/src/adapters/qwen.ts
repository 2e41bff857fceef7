/**
 * Qwen (chat.qwen.ai), live-traffic-2026.md §2.10. A turn is POST
 * /api/v2/chat/completions?chat_id=… streamed as SSE; the saved conversation is GET
 * /api/v2/chats/{id}?direction=up&limit=10 → `data.chat.history.messages`, a map keyed by id with
 * `parentId` (null on the first message) and `currentId` (the active leaf).
 *
 * Stream frames (the v2 client's SSE, public capture, 2026): a `response.created` frame names
 * `chat_id`, `parent_id` (the user message) and `response_id` (the answer's id in the saved
 * tree); then `choices[0].delta{content, phase, status, extra}` frames, incremental unless the
 * request said `incremental_output:false`. Only the `answer` phase is the answer: `think` and
 * other phases are reasoning or tool progress. The answer is done when a delta of the answer phase
 * says `status:"finished"`; a stream that ends without it was stopped. Images come as
 * `extra.tool_result[].image` or as URLs in an image phase's content.
 */
import type { Json } from "../core/jcs.ts";
import type { ImageRef } from "../core/record.ts";
import { ROOT_PARENT, type Capabilities, type Exchange, type Msg, type Observation, type SiteAdapter } from "./types.ts";
import {
  Drift, arr, cleanParams, guarded, isObj, isoTime, mediaTypeFromUrl, need, parseJson, parseSse, probeTurns, slot, str,
  type Obj,
} from "./util.ts";

const ORIGIN = "https://chat.qwen.ai";
const ID = "[0-9a-f-]{8,64}";
const CHAT = new RegExp(`^https://chat\\.qwen\\.ai/api/v2/chats/(${ID})(?:\\?|$)`);
const COMPLETIONS = /^https:\/\/chat\.qwen\.ai\/api\/v2\/chat\/completions\?(?:.*&)?chat_id=([0-9a-f-]{8,64})/;
/** Phases that are the visible answer; every other phase (think, thinking_summary, tool progress) is not. */
const ANSWER_PHASES = new Set(["answer", ""]);
const IMAGE_URL = /https:\/\/[^\s)"'<>\]]+\.(?:png|jpe?g|webp|gif)(?:\?[^\s)"'<>\]]*)?/gi;

/** An image turn's answer names its results in the text: the text keeps the words, not the links. */
function withoutImages(text: string): string {
  return text.replace(/!\[[^\]]*\]\([^)]*\)/g, "").replace(IMAGE_URL, "").replace(/[ \t]+\n/g, "\n").trim();
}

function historyUrl(chatId: string): string {
  return `${ORIGIN}/api/v2/chats/${chatId}?direction=up&limit=10`;
}

function imagesIn(extra: unknown, content: string | undefined, fromContent: boolean): ImageRef[] {
  const urls: string[] = [];
  const results = isObj(extra) ? arr(extra.tool_result) : undefined;
  for (const r of results ?? []) {
    const url = isObj(r) ? str(r.image) ?? str(r.url) : undefined;
    if (url?.startsWith("https://")) urls.push(url);
  }
  if (fromContent && content) for (const m of content.matchAll(IMAGE_URL)) urls.push(m[0]);
  return [...new Set(urls)].map((url) => ({ url, role: "output", mediaType: mediaTypeFromUrl(url) }));
}

/** The user's requested settings, from a request body's message or a saved user message. */
function requestedParams(model: unknown, m: Obj): { [k: string]: Json } | undefined {
  const feature = isObj(m.feature_config) ? m.feature_config : {};
  return cleanParams({
    model: str(model) ?? str(arr(m.models)?.[0]), thinking: feature.thinking_enabled,
    chat_type: m.chat_type, search: m.chat_type === "search" ? true : undefined,
  });
}

function awaitsOf(m: Obj): Msg["awaits"] {
  const feature = isObj(m.feature_config) ? m.feature_config : {};
  if (m.chat_type === "t2i" || m.chat_type === "image_edit") return "image";
  if (m.chat_type === "t2v") return "video";
  return feature.thinking_enabled === true ? "thinking" : "text";
}

// ---- the live turn ----

interface Turn { answer: string; done: boolean; error?: string; responseId?: string; parentId?: string; images: ImageRef[];
  model?: string; frames: number; understood: number }

function readStream(text: string, incremental: boolean, imageTurn: boolean): Turn {
  const turn: Turn = { answer: "", done: false, images: [], frames: 0, understood: 0 };
  let snapshot = "";
  for (const e of parseSse(text)) {
    if (e.data === "[DONE]") continue;
    const frame = parseJson(e.data);
    turn.frames += 1;
    if (!isObj(frame)) continue;
    const created = frame["response.created"];
    if (isObj(created)) {
      turn.understood += 1;
      turn.responseId = str(created.response_id) ?? turn.responseId;
      turn.parentId = str(created.parent_id) ?? turn.parentId;
      continue;
    }
    const error = isObj(frame.error) ? frame.error : frame.success === false && isObj(frame.data) ? frame.data : undefined;
    if (error) {
      turn.understood += 1;
      turn.error = str(error.details) ?? str(error.message) ?? str(error.code) ?? "error";
      continue;
    }
    const choices = arr(frame.choices);
    if (!choices) continue;
    turn.understood += 1;
    turn.responseId = str(frame.response_id) ?? turn.responseId;
    turn.model = str(frame.model) ?? turn.model;
    const delta = isObj(choices[0]) && isObj(choices[0].delta) ? choices[0].delta : {};
    const phase = str(delta.phase) ?? "";
    const content = str(delta.content);
    const answer = ANSWER_PHASES.has(phase);
    if (answer && content !== undefined) {
      if (incremental) turn.answer += content;
      else snapshot = content;
    }
    turn.images.push(...imagesIn(delta.extra, content, /image/.test(phase) || (imageTurn && answer)));
    if (answer && delta.status === "finished") turn.done = true;
  }
  if (!incremental) turn.answer = snapshot;
  if (imageTurn) turn.answer = withoutImages(turn.answer);
  const seen = new Set<string>();
  turn.images = turn.images.filter((r) => !seen.has(r.url) && seen.add(r.url));
  return turn;
}

interface PageMemory { users: Set<string> }

function parseTurn(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const chatId = need(COMPLETIONS.exec(ex.url)?.[1], "chat_id in the URL");
  const request = parseJson(ex.requestBody);
  if (!isObj(request)) throw new Drift("the completion request is not JSON");
  const sent = arr(request.messages)?.filter(isObj) ?? [];
  const user = sent[sent.length - 1];
  const turn = readStream(ex.responseText, request.incremental_output !== false, user !== undefined && awaitsOf(user) === "image");
  if (turn.understood === 0) {
    throw new Drift(turn.frames ? `${turn.frames} stream frames, none understood` : "an empty stream");
  }
  const mem = slot<PageMemory>(state, "qwen", () => ({ users: new Set() }));
  const messages: Msg[] = [];
  const userId = user ? str(user.fid) ?? str(user.id) : undefined;
  const params = user ? requestedParams(request.model, user) : cleanParams({ model: request.model });
  // A retry re-sends a user message the page already sent: no new prompt, a new answer under it.
  const retry = userId !== undefined && (mem.users.has(userId) || /regenerat|retry/.test(str(user?.user_action) ?? ""));
  if (user && userId && !retry) {
    const parent = user.parentId === null || request.parent_id === null ? ROOT_PARENT
      : str(user.parentId) ?? str(request.parent_id);
    messages.push({
      id: userId, parentId: parent, role: "user", text: str(user.content), complete: true, params,
      act: str(user.user_action) === "edit" ? "edit" : undefined, awaits: awaitsOf(user), createdAt: isoTime(user.timestamp),
    });
  }
  if (userId) mem.users.add(userId);
  const out: Observation[] = [];
  const answered = turn.answer.trim() || turn.images.length || turn.error;
  if (turn.responseId && answered) {
    messages.push({
      id: turn.responseId, parentId: userId ?? turn.parentId, role: "ai", text: turn.answer.trim() || undefined,
      complete: true, stopped: !turn.done && !turn.error ? true : undefined, params,
      meta: cleanParams({ model: turn.model, model_source: turn.model ? "stream model" : undefined, error: turn.error }),
      images: turn.images.length ? turn.images : undefined,
    });
  }
  if (messages.length) {
    out.push({ kind: "snapshot", snapshot: { sessionId: chatId, url: `${ORIGIN}/c/${chatId}`, messages, source: "stream" } });
  }
  // Image results land in the saved chat after the stream: re-read it now and a little later.
  const slow = user && awaitsOf(user) !== "text";
  out.push({ kind: "reconcile", url: historyUrl(chatId), method: "GET", delays: slow ? [0, 8000, 25000, 60000] : [0, 8000] });
  return out;
}

// ---- the saved conversation ----

function savedAnswer(m: Obj, imageTurn: boolean): string | undefined {
  const list = arr(m.content_list)?.filter(isObj);
  let answer = list?.filter((c) => ANSWER_PHASES.has(str(c.phase) ?? "")).map((c) => str(c.content) ?? "").join("").trim();
  if (!answer) answer = str(m.content)?.trim();
  return (imageTurn && answer ? withoutImages(answer) : answer) || undefined;
}

function savedImages(m: Obj, imageTurn: boolean): ImageRef[] {
  const found: ImageRef[] = [];
  const phases = [m, ...(arr(m.content_list)?.filter(isObj) ?? [])];
  for (const c of phases) {
    const phase = str(c.phase) ?? "";
    found.push(...imagesIn(c.extra, str(c.content), /image/.test(phase) || (imageTurn && ANSWER_PHASES.has(phase))));
    const url = str(c.image);
    if (url?.startsWith("https://")) found.push({ url, role: "output", mediaType: mediaTypeFromUrl(url) });
  }
  for (const f of arr(m.files) ?? []) {
    const url = isObj(f) ? str(f.image) ?? str(f.url) : undefined;
    if (url?.startsWith("https://")) found.push({ url, role: "output", mediaType: mediaTypeFromUrl(url) });
  }
  const seen = new Set<string>();
  return found.filter((r) => !seen.has(r.url) && seen.add(r.url));
}

function parseChat(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  const data = need(isObj(body) && isObj(body.data) ? body.data : undefined, "data");
  const sessionId = need(str(data.id) ?? CHAT.exec(ex.url)?.[1], "data.id");
  const history = isObj(data.chat) && isObj(data.chat.history) ? data.chat.history : undefined;
  const map = need(history && isObj(history.messages) ? history.messages : undefined, "data.chat.history.messages");
  const messages: Msg[] = [];
  // Image turns are known by their prompt's chat type; their answers name results in the text.
  const imagePrompts = new Set(Object.entries(map).filter(([, m]) => isObj(m) && m.role === "user" && awaitsOf(m) === "image")
    .map(([key, m]) => (isObj(m) ? str(m.id) ?? key : key)));
  for (const [key, m] of Object.entries(map)) {
    if (!isObj(m)) throw new Drift(`messages.${key} is not an object`);
    const role = need(str(m.role), `messages.${key}.role`);
    if (role !== "user" && role !== "assistant") continue;
    const imageTurn = imagePrompts.has(str(m.parentId) ?? "");
    const images = role === "assistant" ? savedImages(m, imageTurn) : [];
    const text = role === "user" ? str(m.content)?.trim() || undefined : savedAnswer(m, imageTurn);
    if (!text && !images.length) continue;
    const model = str(m.model) ?? str(arr(m.models)?.[0]);
    messages.push({
      id: str(m.id) ?? key, role: role === "user" ? "user" : "ai", text,
      parentId: m.parentId === null ? ROOT_PARENT : str(m.parentId) || undefined,
      complete: role === "user" || m.done === true || m.status === "finished", createdAt: isoTime(m.timestamp),
      // The saved `model` is the model the user chose for the turn; nothing documented names the
      // model that actually answered, so it is a requested setting, not `meta.model`.
      params: role === "user" ? requestedParams(undefined, m) : cleanParams({ model }),
      awaits: role === "user" ? awaitsOf(m) : undefined,
      images: images.length ? images : undefined,
    });
  }
  // An answer's settings are those of the request that produced it: its user message's.
  const asked = new Map(messages.filter((m) => m.role === "user").map((m) => [m.id, m.params]));
  for (const m of messages) if (m.role === "ai" && m.parentId && asked.get(m.parentId)) m.params = asked.get(m.parentId);
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  // No `treeIds`: the read is one page of the chat (`direction=up&limit=10`, paged, §2.10), and no
  // source says it keeps the branches off the active path. A newer read after the user chose a sibling
  // answer can lack the leaf known before, and the older-copy rule would then drop a real selection.
  return [{ kind: "snapshot", snapshot: {
    sessionId, title: str(data.title), url: `${ORIGIN}/c/${sessionId}`, messages, source: "history",
    currentId: str(history?.currentId),
  } }];
}

const capabilities: Capabilities = {
  liveTurns: "public-capture",
  history: "public-capture",
  edits: "public-capture",
  regenerations: "public-capture",
  selection: "public-capture", // currentId
  model: "none", // the saved `model` is the requested one; no field naming the answering model is documented
  images: "public-capture",
  identity: "none",
};

export const qwen: SiteAdapter = {
  id: "qwen",
  version: 2,
  name: "Qwen",
  capabilities,
  hosts: ["chat.qwen.ai"],
  imageHosts: ["cdn.qwenlm.ai"],
  capture: [CHAT, COMPLETIONS],
  authHeaders: ["authorization"],
  sessionFromUrl(url) {
    return /^\/c\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200) return [];
    if (ex.method === "POST" && COMPLETIONS.test(ex.url)) {
      const chatId = COMPLETIONS.exec(ex.url)?.[1];
      return guarded("Qwen completion", () => parseTurn(ex, state), "no-parse", chatId);
    }
    if (ex.method === "GET" && CHAT.test(ex.url)) {
      return guarded("Qwen chat", () => parseChat(ex), "unknown-shape", CHAT.exec(ex.url)?.[1]);
    }
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null, [".chat-user", ".chat-response-message", ".user-message-content"]);
    const turns = doc.querySelectorAll(".chat-user, .chat-response-message").length;
    return turns ? { ...health, turns } : health;
  },
};
