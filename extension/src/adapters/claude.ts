/**
 * Claude (live-traffic-2026.md §2.2, §3): turns stream on POST …/chat_conversations/{uuid}/completion
 * and …/retry_completion; after each turn the tree (GET …?tree=True&rendering_mode=messages…) is read
 * again, later too, because the app's own read is `consistency=eventual` and may lag. The model of a
 * turn is the completion request's `model` (the tree's `model` is only the conversation's current
 * setting); the first prompt's parent is the root sentinel 00000000-…, kept; the active leaf is
 * `current_leaf_message_uuid`, which the app changes with a PUT when the user picks a branch.
 */
import type { Json } from "../core/jcs.ts";
import { CANCELLED, artifactContent, readStream } from "./claude-stream.ts";
import type { Capabilities, Exchange, Msg, Observation, PageState, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guardedAs, isObj, isoTime, need, parseJson, parseSse, probeTurns, str, type Obj } from "./util.ts";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const CONV = `^https://claude\\.ai/api/organizations/(${UUID})/chat_conversations/(${UUID})`;
const TREE = new RegExp(`${CONV}(?:\\?|$)`);
const COMPLETION = new RegExp(`${CONV}/(retry_)?completion(?:\\?|$)`);
const LEAF = new RegExp(`${CONV}/current_leaf_message_uuid(?:\\?|$)`);
/** The account the page loads at start: GET /api/account, or the bootstrap call that embeds it. */
const ACCOUNT = /^https:\/\/claude\.ai\/api\/(?:account|bootstrap(?:\/[^?]*)?)(?:\?|$)/;
const ROOT = "00000000-0000-4000-8000-000000000000";
/** The tree read may lag the stream (`consistency=eventual`): read it now and twice more. */
const DELAYS = [0, 4000, 15000];

interface ClaudeState {
  /** What each completion request asked for, by the human and assistant message uuids it produced. */
  requested: Map<string, { [key: string]: Json }>;
  /** Chat names from tree reads, so streamed turns carry the session's title too. */
  titles: Map<string, string>;
}

function claudeState(state: PageState): ClaudeState {
  let s = state.get("claude") as ClaudeState | undefined;
  if (!s) {
    s = { requested: new Map(), titles: new Map() };
    state.set("claude", s);
  }
  return s;
}

function treeUrl(org: string, conv: string): string {
  return `https://claude.ai/api/organizations/${org}/chat_conversations/${conv}` +
    "?tree=True&rendering_mode=messages&render_all_tools=true";
}

function chatUrl(conv: string): string {
  return `https://claude.ai/chat/${conv}`;
}

/** The settings the user chose for a turn: the request's model and style. */
function requestParams(request: Obj): { [key: string]: Json } | undefined {
  const styles = arr(request.personalized_styles)?.filter(isObj) ?? [];
  return cleanParams({ model: request.model, style: styles[0]?.key ?? styles[0]?.name });
}

/** A stored message's visible text: text blocks and artifact contents in order (thinking and tool results left out). */
function storedText(m: Obj): string | undefined {
  const blocks = arr(m.content);
  if (!blocks) return str(m.text)?.trim() || undefined;
  const artifacts = new Map<string, string>();
  const parts: string[] = [];
  for (const b of blocks.filter(isObj)) {
    if (b.type === "text" && str(b.text)?.trim()) parts.push((b.text as string).trim());
    else if (b.type === "tool_use" && b.name === "artifacts" && isObj(b.input)) {
      const content = artifactContent(b.input, artifacts);
      if (content) parts.push(content);
    }
  }
  return parts.join("\n\n") || str(m.text)?.trim() || undefined;
}

/**
 * Whether a stored answer is finished, and stopped: a stop reason says so; a cancel reason, or blocks
 * that all carry a `stop_timestamp` with no stop reason, is an answer cut short (CAR lists the timestamps).
 */
function storedCompletion(m: Obj): { complete: boolean; stopped: boolean } {
  const reason = str(m.stop_reason);
  if (reason) return { complete: true, stopped: CANCELLED.has(reason) };
  const blocks = (arr(m.content) ?? []).filter(isObj);
  const ended = blocks.length > 0 && blocks.every((b) => typeof b.stop_timestamp === "string");
  return { complete: ended, stopped: ended };
}

function parseTree(ex: Exchange, s: ClaudeState): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the conversation response is not a JSON object");
  const sessionId = need(str(body.uuid), "uuid");
  const list = need(arr(body.chat_messages), "a `chat_messages` array");
  const setting = str(body.model);
  const messages: Msg[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObj(m)) throw new Drift(`chat_messages[${i}] is not an object`);
    const id = need(str(m.uuid), `chat_messages[${i}].uuid`);
    const sender = need(str(m.sender), `chat_messages[${i}].sender`);
    if (sender !== "human" && sender !== "assistant") throw new Drift(`chat_messages[${i}].sender is ${sender}`);
    const text = storedText(m);
    if (!text) continue;
    const requested = s.requested.get(id);
    const msg: Msg = { id, role: sender === "human" ? "user" : "ai", text, complete: true,
      parentId: str(m.parent_message_uuid), createdAt: isoTime(m.created_at), params: requested };
    if (sender === "assistant") {
      const { complete, stopped } = storedCompletion(m);
      msg.complete = complete;
      if (stopped) msg.stopped = true;
      // Only a request seen on this page names the turn's model; the tree's is the chat's latest setting.
      msg.meta = cleanParams(requested?.model !== undefined
        ? { model: requested.model, model_source: "completion request model", stop_reason: m.stop_reason }
        : { conversation_model: setting, stop_reason: m.stop_reason });
    }
    messages.push(msg);
  }
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  const title = str(body.name) || undefined;
  if (title) s.titles.set(sessionId, title);
  return [{
    kind: "snapshot",
    snapshot: { sessionId, title, url: chatUrl(sessionId), messages, source: "history",
      currentId: str(body.current_leaf_message_uuid),
      treeIds: list.filter(isObj).map((m) => str(m.uuid)).filter((id): id is string => id !== undefined) },
  }];
}

function parseCompletion(ex: Exchange, s: ClaudeState): Observation[] {
  const match = need(COMPLETION.exec(ex.url) ?? undefined, "a completion URL");
  const [org, conv, retry] = [match[1] as string, match[2] as string, match[3]];
  const request = parseJson(ex.requestBody);
  const body = isObj(request) ? request : {};
  const events = parseSse(ex.responseText);
  const stream = readStream(events);
  if (events.length && stream.understood === 0) {
    return [{ kind: "drift", code: "no-parse", sessionId: conv,
      reason: "Claude completion: no event in a shape this adapter knows" }];
  }
  const out: Observation[] = [];
  const turnUuids = isObj(body.turn_message_uuids) ? body.turn_message_uuids : {};
  const humanId = retry ? str(body.parent_message_uuid) : stream.parentUuid ?? str(turnUuids.human_message_uuid);
  // A retry's body leaves out what it does not change (the style): the prompt's settings stand, so an
  // unchanged retry is not a settings change.
  const asked = requestParams(body);
  const params = retry && humanId ? { ...s.requested.get(humanId), ...asked } : asked;
  const aiId = stream.uuid ?? str(turnUuids.assistant_message_uuid);
  const messages: Msg[] = [];
  if (!retry && humanId && str(body.prompt)?.trim()) {
    if (params) s.requested.set(humanId, params);
    // The first prompt keeps the root sentinel as its parent (§4.3).
    messages.push({ id: humanId, role: "user", text: (body.prompt as string).trim(), complete: true,
      parentId: str(body.parent_message_uuid) ?? ROOT, params });
  }
  if (aiId) {
    if (params) s.requested.set(aiId, params);
    const stopped = stream.stopReason !== undefined && CANCELLED.has(stream.stopReason);
    const msg: Msg = {
      id: aiId, role: "ai", text: stream.text || undefined, parentId: humanId,
      complete: (stream.finished || stopped) && stream.error === undefined && stream.text !== "",
      params, meta: cleanParams({ model: params?.model, model_source: params?.model !== undefined ? "completion request model" : undefined,
        stop_reason: stream.stopReason, artifacts: stream.artifactTitles.join(", ") }),
    };
    if (stopped) msg.stopped = true;
    messages.push(msg);
  } else if (stream.started) {
    out.push({ kind: "drift", code: "unknown-shape", sessionId: conv,
      reason: "Claude completion: message_start names no uuid; the answer is left to the tree read" });
  }
  if (messages.length) {
    // A finished answer is the leaf the app now shows (the tree's current_leaf_message_uuid will say so).
    const leaf = messages.find((m) => m.role === "ai" && m.complete)?.id;
    out.push({ kind: "snapshot", snapshot: { sessionId: conv, url: chatUrl(conv), title: s.titles.get(conv), messages,
      source: "stream", currentId: leaf } });
  }
  // Read the tree after every turn, finished or not: it says how a stopped or failed answer was saved.
  if (events.length) out.push({ kind: "reconcile", url: treeUrl(org, conv), delays: DELAYS });
  return out;
}

/** PUT …/current_leaf_message_uuid: the user picked a branch (§3). */
function parseLeaf(ex: Exchange): Observation[] {
  const match = need(LEAF.exec(ex.url) ?? undefined, "a branch choice URL");
  const [org, conv] = [match[1] as string, match[2] as string];
  const body = parseJson(ex.requestBody);
  const leaf = isObj(body) ? str(body.current_leaf_message_uuid) ?? str(body.leaf_message_uuid) : undefined;
  if (!leaf) throw new Drift("the branch choice names no `current_leaf_message_uuid`");
  return [
    { kind: "snapshot", snapshot: { sessionId: conv, url: chatUrl(conv), messages: [], source: "stream", currentId: leaf } },
    { kind: "reconcile", url: treeUrl(org, conv), delays: [0] },
  ];
}

function parseAccount(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the account response is not a JSON object");
  const account = isObj(body.account) ? body.account : body;
  const id = str(account.uuid);
  if (!id) {
    // The bootstrap call also answers signed-out pages; only a body with an account is an identity.
    if (isObj(body.account) || ex.url.includes("/api/account")) throw new Drift("the account names no `uuid`");
    return [];
  }
  const path = new URL(ex.url).pathname;
  return [{ kind: "identity", identity: { id, name: str(account.display_name) ?? str(account.full_name), source: `GET ${path}` } }];
}

const capabilities: Capabilities = {
  liveTurns: "public-capture", history: "public-capture", edits: "documented", regenerations: "public-capture",
  selection: "documented", model: "public-capture", images: "none",
  // The account endpoint is the one public clients read; live-traffic-2026.md does not cover it.
  identity: "documented",
};

export const claude: SiteAdapter = {
  id: "claude",
  version: 2,
  name: "Claude",
  capabilities,
  hosts: ["claude.ai"],
  imageHosts: [],
  capture: [TREE, COMPLETION, LEAF, ACCOUNT],
  identityRequest(origin) {
    return { url: `${origin}/api/account`, method: "GET" };
  },
  sessionFromUrl(url) {
    return new RegExp(`^/chat/(${UUID})`).exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status < 200 || ex.status >= 300) return [];
    const s = claudeState(state);
    if (ex.method === "GET" && TREE.test(ex.url)) return guardedAs("Claude conversation", "unknown-shape", () => parseTree(ex, s));
    if (ex.method === "POST" && COMPLETION.test(ex.url)) {
      return guardedAs("Claude completion", "unknown-shape", () => parseCompletion(ex, s));
    }
    if (ex.method === "PUT" && LEAF.test(ex.url)) return guardedAs("Claude branch choice", "unknown-shape", () => parseLeaf(ex));
    if (ex.method === "GET" && ACCOUNT.test(ex.url)) return guardedAs("Claude account", "unknown-shape", () => parseAccount(ex));
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null, [
      "[data-testid='user-message']", "div.font-claude-response", "[data-is-streaming]", "div.standard-markdown",
    ]);
    const turns = doc.querySelectorAll("[data-testid='user-message'], div.font-claude-response").length;
    return turns > 0 ? { ...health, turns } : health;
  },
};
