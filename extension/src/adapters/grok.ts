/**
 * Grok (live-traffic-2026.md §2.6). A turn streams NDJSON from POST /rest/app-chat/conversations/new
 * (a new chat) or …/{id}/responses (a follow-up, a redo, an edit): lines `{result: …}` carrying the
 * new conversation, the user's response, answer tokens (`isThinking` ones are reasoning) and finally
 * `modelResponse`, the whole answer with `parentResponseId`. History comes in two steps: GET
 * …/response-node?includeThreads=true (the skeleton: ids, senders, parents) and POST …/load-responses
 * {responseIds} (the bodies, without parents in a 2026-05 field list): the skeleton is kept in the
 * page state and gives the bodies their parents. After each turn the turn's bodies are read again.
 */
import type { Json } from "../core/jcs.ts";
import type { ImageRef } from "../core/record.ts";
import { CodedDrift, guardedWithCode } from "./guard.ts";
import { ROOT_PARENT, type Exchange, type Msg, type Observation, type PageState, type SiteAdapter } from "./types.ts";
import { arr, cleanParams, isObj, isoTime, parseJson, probeTurns, str, type Obj } from "./util.ts";

const ORIGIN = "https://grok.com";
const ID = "[0-9a-f-]{8,64}";
const NEW = /^https:\/\/grok\.com\/rest\/app-chat\/conversations\/new(?:\?|$)/;
const FOLLOW = new RegExp(`^https://grok\\.com/rest/app-chat/conversations/(${ID})/responses(?:\\?|$)`);
const NODES = new RegExp(`^https://grok\\.com/rest/app-chat/conversations/(${ID})/response-node(?:\\?|$)`);
const LOAD = new RegExp(`^https://grok\\.com/rest/app-chat/conversations/(${ID})/load-responses(?:\\?|$)`);
const TURN_SELECTORS = ["[id^='response-']", ".message-bubble"];

interface Node {
  sender: "user" | "ai";
  /** The parent id, ROOT_PARENT for a root of the skeleton, undefined when unknown. */
  parent?: string;
}

interface Memory {
  nodes: Map<string, Node>;
  /** Requested settings per response id (user turns and the answers they produced). */
  params: Map<string, { [key: string]: Json }>;
  /** Answers whose stream ended without `modelResponse`: stopped or cut off. */
  unfinished: Set<string>;
}

function memoryOf(state: PageState): Memory {
  let m = state.get("grok") as Memory | undefined;
  if (!m) {
    m = { nodes: new Map(), params: new Map(), unfinished: new Set() };
    state.set("grok", m);
  }
  return m;
}

function senderOf(v: unknown): "user" | "ai" | undefined {
  const s = str(v)?.toLowerCase();
  return s === "human" || s === "user" ? "user" : s === "assistant" ? "ai" : undefined;
}

function images(urls: unknown): ImageRef[] | undefined {
  const out = (arr(urls) ?? []).filter((u): u is string => typeof u === "string" && u !== "")
    .map((u) => ({ url: new URL(u, "https://assets.grok.com/").href, role: "output" }));
  return out.length ? out : undefined;
}

function loadRequest(conv: string, ids: string[]): Observation & { kind: "reconcile" } {
  return { kind: "reconcile", method: "POST", url: `${ORIGIN}/rest/app-chat/conversations/${conv}/load-responses`,
    body: JSON.stringify({ responseIds: ids }) };
}

function requestedParams(req: Obj): { [key: string]: Json } | undefined {
  const meta = isObj(req.responseMetadata) && isObj(req.responseMetadata.requestModelDetails) ? req.responseMetadata.requestModelDetails : {};
  return cleanParams({
    model: req.modelName ?? meta.modelId, mode: req.modelMode, reasoning: req.isReasoning,
    image_generation: req.enableImageGeneration, search: req.disableSearch === true ? false : undefined,
  });
}

function parseTurn(ex: Exchange, mem: Memory): Observation[] {
  const req = parseJson(ex.requestBody);
  if (!isObj(req)) throw new CodedDrift("the turn request body is not JSON");
  let conv = FOLLOW.exec(ex.url)?.[1];
  let user: Obj | undefined;
  let model: Obj | undefined;
  let tokens = "";
  let tokenId: string | undefined;
  let understood = 0;
  let lines = 0;
  let siteError = false;
  for (const raw of ex.responseText.split(/\r?\n/)) {
    if (!raw.trim()) continue;
    lines++;
    const line = parseJson(raw);
    if (isObj(line) && isObj(line.error)) {
      siteError = true;
      continue;
    }
    const result = isObj(line) && isObj(line.result) ? line.result : undefined;
    if (!result) continue;
    if (isObj(result.conversation)) conv = str(result.conversation.conversationId) ?? conv;
    const r = isObj(result.response) ? result.response : result;
    if (isObj(r.userResponse)) user = r.userResponse;
    if (isObj(r.modelResponse)) model = r.modelResponse;
    if (typeof r.token === "string") {
      // Reasoning tokens and tool headers are not the answer.
      if (r.isThinking !== true && (r.messageTag === undefined || r.messageTag === "final")) tokens += r.token;
      tokenId = str(r.responseId) ?? tokenId;
    }
    if (isObj(result.conversation) || isObj(r.userResponse) || isObj(r.modelResponse) || "token" in r ||
      isObj(r.finalMetadata) || isObj(result.title) || isObj(r.streamingImageGenerationResponse)) understood++;
  }
  if (!understood) {
    if (siteError || !lines) return [];
    throw new CodedDrift("the turn stream carried no line this adapter understands", "no-parse");
  }
  if (!conv) throw new CodedDrift("no conversation id in the URL or the stream");
  const params = requestedParams(req);
  const requestParent = str(req.parentResponseId) || undefined;
  const messages: Msg[] = [];
  const answerId = str(model?.responseId) ?? tokenId;
  // The user's turn: the stream's userResponse, else the answer's parent. A redo names an existing
  // user response as its parent and adds no user message (its answer is a sibling).
  const redo = !user && requestParent !== undefined && mem.nodes.get(requestParent)?.sender === "user";
  let userId = str(user?.responseId) ?? (redo ? requestParent : str(model?.parentResponseId));
  if (userId && !redo) {
    // A follow-up or an edit names the turn it continues; a message that names none is a root: a
    // new chat's first message, or an edit of the first prompt of an existing chat.
    const parent = (str(user?.parentResponseId) || undefined) ?? requestParent ?? ROOT_PARENT;
    mem.nodes.set(userId, { sender: "user", parent });
    if (params) mem.params.set(userId, params);
    const text = str(user?.message) ?? str(req.message);
    if (text?.trim()) messages.push({ id: userId, role: "user", text: text.trim(), parentId: parent, complete: true, params,
      awaits: req.enableImageGeneration === true && /\b(image|picture|draw|paint)\b/i.test(text) ? "image" : "text" });
  }
  userId ??= requestParent;
  if (answerId) {
    mem.nodes.set(answerId, { sender: "ai", parent: str(model?.parentResponseId) ?? userId });
    if (params) mem.params.set(answerId, params);
    if (model) mem.unfinished.delete(answerId);
    else mem.unfinished.add(answerId);
    const text = (model ? str(model.message) : tokens)?.trim();
    const imgs = images(model?.generatedImageUrls);
    const answered = str(model?.model);
    if (text || imgs) messages.push({
      id: answerId, role: "ai", text: text || undefined, parentId: mem.nodes.get(answerId)?.parent, complete: model !== undefined,
      images: imgs, params, meta: answered ? { model: answered, model_source: "modelResponse.model" } : undefined,
      createdAt: isoTime(model?.createTime),
    });
  }
  const ids = [userId, answerId].filter((v): v is string => v !== undefined);
  return [
    { kind: "snapshot", snapshot: { sessionId: conv, url: `${ORIGIN}/c/${conv}`, messages, source: "stream" } },
    ...(ids.length ? [{ ...loadRequest(conv, ids), delays: model ? [1000] : [1000, 8000] }] : []),
  ];
}

function parseNodes(ex: Exchange, mem: Memory): Observation[] {
  const conv = NODES.exec(ex.url)?.[1] as string;
  const body = parseJson(ex.responseText);
  const nodes = isObj(body) ? arr(body.responseNodes) : undefined;
  if (!nodes) throw new CodedDrift("no `responseNodes` array in the skeleton");
  const ids: string[] = [];
  for (const [i, n] of nodes.entries()) {
    const id = isObj(n) ? str(n.responseId) : undefined;
    const sender = isObj(n) ? senderOf(n.sender) : undefined;
    if (!isObj(n) || !id || !sender) throw new CodedDrift(`responseNodes[${i}] has no responseId or a known sender`);
    // The skeleton is the whole tree: a node without a parent is a root.
    mem.nodes.set(id, { sender, parent: str(n.parentResponseId) || ROOT_PARENT });
    ids.push(id);
  }
  return ids.length ? [loadRequest(conv, ids)] : [];
}

function parseLoad(ex: Exchange, mem: Memory): Observation[] {
  const conv = LOAD.exec(ex.url)?.[1] as string;
  const body = parseJson(ex.responseText);
  const list = isObj(body) ? arr(body.responses) : undefined;
  if (!list) throw new CodedDrift("no `responses` array in load-responses");
  const messages: Msg[] = [];
  for (const [i, r] of list.entries()) {
    const id = isObj(r) ? str(r.responseId) : undefined;
    const sender = isObj(r) ? senderOf(r.sender) : undefined;
    if (!isObj(r) || !id || !sender) throw new CodedDrift(`responses[${i}] has no responseId or a known sender`);
    const parent = mem.nodes.get(id)?.parent ?? (str(r.parentResponseId) || undefined);
    const text = str(r.message)?.trim() || undefined;
    const imgs = images(r.generatedImageUrls);
    if (!text && !imgs) continue;
    const createdAt = isoTime(r.createTime);
    if (sender === "user") {
      messages.push({ id, role: "user", text, parentId: parent, complete: true, createdAt, params: mem.params.get(id) });
      continue;
    }
    // `partial` is an answer saved unfinished: final once our stream of it ended without modelResponse.
    const stopped = r.partial === true && mem.unfinished.has(id);
    const answered = str(r.model);
    messages.push({
      id, role: "ai", text, parentId: parent, complete: r.partial !== true || stopped, stopped: stopped || undefined,
      images: imgs, createdAt, params: mem.params.get(id),
      meta: answered ? { model: answered, model_source: "load-responses model" } : undefined,
    });
  }
  return [{ kind: "snapshot", snapshot: { sessionId: conv, url: `${ORIGIN}/c/${conv}`, messages, source: "history" } }];
}

export const grok: SiteAdapter = {
  id: "grok",
  version: 2,
  name: "Grok",
  capabilities: {
    liveTurns: "public-capture", history: "public-capture", edits: "public-capture", regenerations: "public-capture",
    selection: "none", model: "documented", images: "documented", identity: "none",
  },
  hosts: ["grok.com"],
  imageHosts: ["assets.grok.com"],
  capture: [NEW, FOLLOW, NODES, LOAD],
  sessionFromUrl(url) {
    return /^\/c\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200) return [];
    const mem = memoryOf(state);
    if (ex.method === "POST" && (NEW.test(ex.url) || FOLLOW.test(ex.url))) return guardedWithCode("Grok turn", undefined, () => parseTurn(ex, mem));
    if (ex.method === "GET" && NODES.test(ex.url)) return guardedWithCode("Grok response-node", undefined, () => parseNodes(ex, mem));
    if (ex.method === "POST" && LOAD.test(ex.url)) return guardedWithCode("Grok load-responses", undefined, () => parseLoad(ex, mem));
    return [];
  },
  probeDom(doc, url) {
    // No `turns` count: the public sources name these markers, not which of them is one message
    // (a reasoning block may share an answer's class), and an overcount would raise false gaps.
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [...TURN_SELECTORS, "[data-testid='message']"]);
  },
};
