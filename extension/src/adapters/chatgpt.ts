/**
 * ChatGPT: the conversation tree from GET /backend-api/conversation/{id} (`mapping`, `current_node`)
 * and the streamed turn of POST /backend-api/(f/)conversation (SSE, v1 delta patches).
 * Shapes: shared/reference/capture-sites.md §1, §2 (pionxzh/chatgpt-exporter types).
 */
import type { ImageRef } from "../core/record.ts";
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import {
  Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, parseSse, probeTurns, str, type Obj,
} from "./util.ts";

const CONVERSATION_GET = /^https:\/\/(?:chatgpt\.com|chat\.openai\.com)\/backend-api\/conversation\/([0-9a-f-]{8,64})(?:\?|$)/;
const CONVERSATION_POST = /^https:\/\/(?:chatgpt\.com|chat\.openai\.com)\/backend-api\/(?:f\/)?conversation(?:\?|$)/;

function origin(url: string): string {
  return new URL(url).origin;
}

/** `sediment://file_x` or `file-service://file-x` → the files API that answers a signed download_url. */
function imageFromPart(part: Obj, base: string): ImageRef | undefined {
  const pointer = str(part.asset_pointer);
  if (!pointer) return undefined;
  const fileId = pointer.replace(/^[a-z-]+:\/\//, "");
  if (!/^[A-Za-z0-9_-]+$/.test(fileId)) throw new Drift(`unexpected image pointer ${pointer.slice(0, 40)}`);
  return { url: `${base}/backend-api/files/download/${fileId}`, resolveField: "download_url", role: "output" };
}

function imageMeta(part: Obj): Obj {
  const meta = isObj(part.metadata) ? part.metadata : {};
  const dalle = isObj(meta.dalle) ? meta.dalle : {};
  const gen = isObj(meta.generation) ? meta.generation : {};
  return {
    image_prompt: dalle.prompt, seed: dalle.seed ?? gen.seed, gen_id: dalle.gen_id ?? gen.gen_id,
    parent_gen_id: dalle.parent_gen_id ?? gen.parent_gen_id, edit_op: dalle.edit_op,
    width: part.width ?? gen.width, height: part.height ?? gen.height,
  };
}

interface ParsedContent {
  text?: string;
  images: ImageRef[];
  meta: Obj;
  visible: boolean;
}

function parseContent(message: Obj, base: string): ParsedContent {
  const content = need(isObj(message.content) ? message.content : undefined, "message.content");
  const type = need(str(content.content_type), "message.content.content_type");
  const out: ParsedContent = { images: [], meta: {}, visible: true };
  if (type === "text" || type === "multimodal_text" || type === "code") {
    const parts = type === "code" ? [content.text] : need(arr(content.parts), "message.content.parts");
    const texts: string[] = [];
    for (const part of parts) {
      if (typeof part === "string") texts.push(part);
      else if (isObj(part) && part.content_type === "image_asset_pointer") {
        const img = imageFromPart(part, base);
        if (img) out.images.push(img);
        Object.assign(out.meta, imageMeta(part));
      }
    }
    const text = texts.join("\n").trim();
    if (text) out.text = text;
  } else {
    // thoughts, reasoning_recap, execution_output, model_editable_context, …: not the visible answer.
    out.visible = false;
  }
  return out;
}

function toMsg(message: Obj, base: string, parentId: string | undefined, streamDone: boolean): Msg | undefined {
  const id = need(str(message.id), "message.id");
  const author = need(isObj(message.author) ? message.author : undefined, "message.author");
  const role = need(str(author.role), "message.author.role");
  const metadata = isObj(message.metadata) ? message.metadata : {};
  if (metadata.is_visually_hidden_from_conversation === true) return undefined;
  if (role === "system") return undefined;
  const recipient = str(message.recipient) ?? "all";
  if (role === "assistant" && recipient !== "all") return undefined; // a call to a tool, not an answer
  const content = parseContent(message, base);
  if (!content.visible) return undefined;
  if (role === "tool" && content.images.length === 0) return undefined;
  if (role !== "user" && role !== "assistant" && role !== "tool") return undefined;
  if (!content.text && content.images.length === 0) return undefined;
  const status = str(message.status);
  const msg: Msg = {
    id, role: role === "user" ? "user" : "ai", text: content.text, parentId,
    complete: role === "user" ? true : status === "finished_successfully" && streamDone,
    createdAt: isoTime(message.create_time),
    images: content.images.length ? content.images : undefined,
  };
  if (role !== "user") {
    msg.meta = cleanParams({ model: metadata.model_slug, ...content.meta });
  }
  return msg;
}

function parseTree(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the conversation response is not a JSON object");
  const mapping = need(isObj(body.mapping) ? body.mapping : undefined, "a `mapping` object");
  const sessionId = need(str(body.conversation_id) ?? str(body.id), "conversation_id");
  const base = origin(ex.url);
  const included = new Map<string, Msg>();
  const parentOf = new Map<string, string | undefined>();
  for (const [key, node] of Object.entries(mapping)) {
    if (!isObj(node)) throw new Drift(`mapping.${key} is not an object`);
    parentOf.set(key, str(node.parent));
  }
  const nearestIncluded = (id: string | undefined): string | undefined => {
    const seen = new Set<string>();
    while (id !== undefined && !seen.has(id)) {
      seen.add(id);
      if (included.has(id)) return id;
      id = parentOf.get(id);
    }
    return undefined;
  };
  // Walk parents before children (breadth first from the roots), keeping sibling order.
  const order: string[] = [];
  const children = new Map<string | undefined, string[]>();
  for (const [key, node] of Object.entries(mapping)) {
    const parent = str((node as Obj).parent);
    const list = children.get(parent && parent in mapping ? parent : undefined) ?? [];
    list.push(key);
    children.set(parent && parent in mapping ? parent : undefined, list);
  }
  const queue = [...(children.get(undefined) ?? [])];
  while (queue.length) {
    const id = queue.shift() as string;
    order.push(id);
    queue.push(...(children.get(id) ?? []));
  }
  const messages: Msg[] = [];
  for (const key of order) {
    const node = mapping[key] as Obj;
    if (!isObj(node.message)) continue;
    const msg = toMsg(node.message, base, nearestIncluded(parentOf.get(key)), true);
    if (!msg) continue;
    included.set(key, msg);
    messages.push(msg);
  }
  return [{
    kind: "snapshot",
    snapshot: { sessionId, title: str(body.title), url: `${base}/c/${sessionId}`, messages },
  }];
}

/** Apply one v1 delta operation ({p, o, v}) to the streamed message. */
function applyOp(root: Obj, path: string, op: string, value: unknown): void {
  const keys = path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (!keys.length) return;
  let target: unknown = root;
  for (const key of keys.slice(0, -1)) {
    target = Array.isArray(target) ? target[Number(key)] : isObj(target) ? target[key] : undefined;
    if (target === undefined) return;
  }
  const last = keys[keys.length - 1] as string;
  const container = target as Obj & unknown[];
  const slot: string | number = Array.isArray(target) ? Number(last) : last;
  const current = (container as Obj)[slot as string];
  if (op === "append") {
    if (typeof current === "string" && typeof value === "string") (container as Obj)[slot as string] = current + value;
    else if (Array.isArray(current)) current.push(...(Array.isArray(value) ? value : [value]));
    else (container as Obj)[slot as string] = value;
  } else if (op === "replace" || op === "add") {
    (container as Obj)[slot as string] = value;
  } else if (op === "truncate" && typeof current === "string" && typeof value === "number") {
    (container as Obj)[slot as string] = current.slice(0, value);
  }
}

function parseStream(ex: Exchange): Observation[] {
  const request = parseJson(ex.requestBody);
  if (!isObj(request)) throw new Drift("the conversation request body is not JSON");
  const base = origin(ex.url);
  const events = parseSse(ex.responseText);
  let sessionId = str(request.conversation_id);
  let done = false;
  const streamed = new Map<string, Obj>();
  let current: Obj | undefined;
  let lastPath = "";
  let lastOp = "";
  let understood = 0;
  for (const ev of events) {
    if (ev.data === "[DONE]") {
      done = true;
      continue;
    }
    const data = parseJson(ev.data);
    if (typeof data === "string") continue; // "v1": the delta encoding's version
    if (!isObj(data)) continue;
    sessionId ??= str(data.conversation_id);
    if (data.type === "message_stream_complete") {
      done = true;
      understood++;
      continue;
    }
    if (isObj(data.message)) {
      current = structuredClone(data.message);
      streamed.set(need(str(current.id), "message.id"), current);
      understood++;
      continue;
    }
    if (!("v" in data)) continue;
    const path = str(data.p) ?? lastPath;
    const op = str(data.o) ?? (data.p === undefined ? lastOp || "append" : "replace");
    if (path === "" && op === "add" && isObj(data.v) && isObj(data.v.message)) {
      sessionId ??= str(data.v.conversation_id);
      current = structuredClone(data.v.message);
      streamed.set(need(str(current.id), "message.id"), current);
      understood++;
    } else if (op === "patch" && Array.isArray(data.v) && current) {
      for (const sub of data.v) {
        if (isObj(sub)) applyOp({ message: current }, str(sub.p) ?? "", str(sub.o) ?? "replace", sub.v);
      }
      understood++;
    } else if (current) {
      applyOp({ message: current }, path, op, data.v);
      understood++;
    }
    lastPath = path;
    lastOp = op;
  }
  const messages: Msg[] = [];
  // The client's placeholder root is not a message: the first prompt has no parent.
  const rawParent = str(request.parent_message_id);
  const requestParent = rawParent === "client-created-root" ? undefined : rawParent;
  let lastUser: string | undefined;
  for (const m of arr(request.messages) ?? []) {
    if (!isObj(m)) continue;
    const msg = toMsg({ ...m, status: "finished_successfully" }, base, requestParent, true);
    if (msg?.role === "user") {
      msg.params = cleanParams({ model: request.model });
      messages.push(msg);
      lastUser = msg.id;
    }
  }
  if (events.length && understood === 0) throw new Drift("the stream carried no message this adapter understands");
  for (const m of streamed.values()) {
    const meta = isObj(m.metadata) ? m.metadata : {};
    const parent = str(meta.parent_id) ?? lastUser ?? requestParent;
    const msg = toMsg(m, base, parent, done);
    if (msg && msg.role === "ai") messages.push(msg);
  }
  if (!sessionId) return []; // a temporary chat that has no id yet: nothing to key a session on
  const out: Observation[] = [{ kind: "snapshot", snapshot: { sessionId, url: `${base}/c/${sessionId}`, messages } }];
  if (done) out.push({ kind: "reconcile", url: `${base}/backend-api/conversation/${sessionId}` });
  return out;
}

export const chatgpt: SiteAdapter = {
  id: "chatgpt",
  version: 1,
  name: "ChatGPT",
  hosts: ["chatgpt.com", "chat.openai.com"],
  imageHosts: ["files.oaiusercontent.com", "sdmntprwestus.oaiusercontent.com"],
  capture: [CONVERSATION_GET, CONVERSATION_POST],
  authHeaders: ["authorization", "chatgpt-account-id"],
  sessionFromUrl(url) {
    const m = /^\/(?:g\/[^/]+\/)?c\/([0-9a-f-]{8,64})/.exec(url.pathname);
    return m?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status < 200 || ex.status >= 300) return [];
    if (ex.method === "GET" && CONVERSATION_GET.test(ex.url)) return guarded("ChatGPT conversation", () => parseTree(ex));
    if (ex.method === "POST" && CONVERSATION_POST.test(ex.url)) return guarded("ChatGPT stream", () => parseStream(ex));
    return [];
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [
      "[data-message-author-role]", "[data-testid^='conversation-turn-']", "[data-turn]",
    ]);
  },
};
