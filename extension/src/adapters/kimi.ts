/**
 * Kimi (kimi.com, formerly kimi.moonshot.cn), live-traffic-2026.md §2.9. The saved conversation
 * is POST …/apiv2/kimi.chat.v1.ChatService/ListMessages or
 * …/apiv2/kimi.gateway.chat.v1.ChatService/ListMessages, body `{chat_id, page_size}`, answering
 * `messages[]{id, parentId, role, blocks[].text.content, status}` newest first and paged by
 * `nextPageToken`; reasoning sits in separate `think` blocks, which are not the answer.
 *
 * The call that sends a prompt and streams the answer is another ChatService method that no
 * public capture identifies, so its stream is not parsed: any other ChatService POST the page
 * makes (except its List…, Get… and Create… calls) is taken as a turn, and when it ends the adapter reads
 * ListMessages again, every page, as the page itself does. Turns are therefore recorded from the
 * saved conversation moments after they finish, not from the stream.
 */
import { ROOT_PARENT, type Capabilities, type Exchange, type Msg, type Observation, type SiteAdapter } from "./types.ts";
import { Drift, arr, guarded, isObj, isoTime, need, parseJson, probeTurns, slot, str } from "./util.ts";

const SERVICE = /^https:\/\/(www\.kimi\.com|kimi\.moonshot\.cn)\/apiv2\/(kimi\.(?:gateway\.)?chat\.v1)\.ChatService\/([A-Za-z]+)(?:\?|$)/;
/**
 * The adapter's own reads ask for large pages: a read that follows a turn should reach the chat's
 * first message by itself, since a re-read's own follow-up read may not be made.
 */
const PAGE_SIZE = 100;
/** A long chat is read to its first message, but never more than this many pages per walk. */
const MAX_PAGES = 40;
const CHAT_ID = /"(?:chat_id|chatId)"\s*:\s*"([A-Za-z0-9_-]{8,64})"/;

interface PageMemory { chats: Map<string, Map<string, Msg>>; pages: Map<string, number>; lastChat?: string }
const memoryOf = (state: Map<string, unknown>) => slot<PageMemory>(state, "kimi", () => ({ chats: new Map(), pages: new Map() }));

function listUrl(url: string): string {
  const m = SERVICE.exec(url);
  return `https://${m?.[1] ?? "www.kimi.com"}/apiv2/${m?.[2] ?? "kimi.gateway.chat.v1"}.ChatService/ListMessages`;
}

function readMessage(m: unknown, i: number): Msg | undefined {
  if (!isObj(m)) throw new Drift(`messages[${i}] is not an object`);
  const role = need(str(m.role), `messages[${i}].role`);
  if (role !== "user" && role !== "assistant") return undefined;
  const blocks = (arr(m.blocks) ?? []).filter(isObj);
  // Only text blocks are the answer; `think` blocks are reasoning.
  const text = blocks.filter((b) => !isObj(b.think)).map((b) => (isObj(b.text) ? str(b.text.content) ?? "" : ""))
    .join("").trim();
  if (!text) return undefined;
  const status = String(m.status ?? "");
  const stopped = /CANCEL|STOP|INTERRUPT|ABORT/.test(status);
  // Protobuf JSON leaves an empty parent out: a user message without one hangs under the root.
  const parent = str(m.parentId) || str(m.parent_id);
  return {
    id: need(str(m.id), `messages[${i}].id`), role: role === "user" ? "user" : "ai", text,
    parentId: parent ?? (role === "user" ? ROOT_PARENT : undefined), createdAt: isoTime(m.createTime ?? m.create_time),
    complete: role === "user" || status === "" || /COMPLETED|FINISHED/.test(status) || stopped,
    stopped: stopped || undefined,
  };
}

function parseList(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const request = parseJson(ex.requestBody);
  const body = parseJson(ex.responseText);
  const list = need(isObj(body) ? arr(body.messages) : undefined, "a `messages` array");
  const sessionId = need(isObj(request) ? str(request.chat_id) ?? str(request.chatId) : undefined, "chat_id in the request");
  const mem = memoryOf(state);
  const known = mem.chats.get(sessionId) ?? new Map<string, Msg>();
  mem.chats.set(sessionId, known);
  list.forEach((m, i) => {
    const msg = readMessage(m, i);
    if (msg) known.set(msg.id, msg);
  });
  // Pages come newest first: while older pages are left, a message is passed on once its ancestry
  // reaches the root, so an older turn is never recorded after the newer ones that follow it.
  const next = isObj(body) ? str(body.nextPageToken) ?? str(body.next_page_token) : undefined;
  const rooted = (m: Msg, depth = 0): boolean =>
    m.parentId === ROOT_PARENT || (m.parentId !== undefined && depth < 10_000 && known.has(m.parentId) &&
      rooted(known.get(m.parentId) as Msg, depth + 1));
  const messages = [...known.values()].filter((m) => !next || rooted(m))
    .sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  const out: Observation[] = [{ kind: "snapshot", snapshot: {
    sessionId, url: `https://www.kimi.com/chat/${sessionId}`, messages, source: "history" } }];
  const firstPage = !isObj(request) || !(str(request.page_token) ?? str(request.pageToken));
  const pages = firstPage ? 1 : (mem.pages.get(sessionId) ?? 1) + 1;
  mem.pages.set(sessionId, pages);
  if (next && pages < MAX_PAGES) {
    out.push({ kind: "reconcile", url: listUrl(ex.url), method: "POST", delays: [0],
      body: JSON.stringify({ chat_id: sessionId, page_size: PAGE_SIZE, page_token: next }) });
  }
  return out;
}

/**
 * The chat an exchange names: `chat_id`/`chatId` in a JSON (or Connect-enveloped JSON) body, or a
 * created chat's `chat.id` in the answer. A turn call whose body the page sent as bytes names none
 * that can be read: then the chat the page last read or created is the one.
 */
function chatOf(ex: Exchange): string | undefined {
  const named = CHAT_ID.exec(ex.requestBody ?? "")?.[1] ?? CHAT_ID.exec(ex.responseText)?.[1];
  if (named) return named;
  const body = parseJson(ex.responseText);
  const created = isObj(body) && isObj(body.chat) ? str(body.chat.id) : undefined;
  return created && /^[A-Za-z0-9_-]{8,64}$/.test(created) ? created : undefined;
}

function parseTurnRequest(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const mem = memoryOf(state);
  const chatId = chatOf(ex) ?? mem.lastChat;
  if (!chatId) return [];
  mem.lastChat = chatId;
  return [{ kind: "reconcile", url: listUrl(ex.url), method: "POST", delays: [0, 4000, 15000],
    body: JSON.stringify({ chat_id: chatId, page_size: PAGE_SIZE }) }];
}

const capabilities: Capabilities = {
  liveTurns: "none", // the send/stream method is not identified: turns come from the re-read list
  history: "public-capture",
  edits: "public-capture",
  regenerations: "public-capture",
  selection: "none",
  model: "none",
  images: "none",
  identity: "none",
};

export const kimi: SiteAdapter = {
  id: "kimi",
  version: 2,
  name: "Kimi",
  capabilities,
  hosts: ["www.kimi.com", "kimi.moonshot.cn"],
  imageHosts: [],
  capture: [SERVICE],
  authHeaders: ["authorization"],
  sessionFromUrl(url) {
    return /^\/chat\/([A-Za-z0-9-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    const method = SERVICE.exec(ex.url)?.[3];
    if (ex.status !== 200 || ex.method !== "POST" || !method) return [];
    const named = chatOf(ex);
    if (named) memoryOf(state).lastChat = named;
    if (method === "ListMessages") return guarded("Kimi messages", () => parseList(ex, state), "unknown-shape");
    if (/^(List|Get|Create)/.test(method)) return [];
    return parseTurnRequest(ex, state);
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null, [".segment-user", ".segment-assistant", ".segment-content-box"]);
    const turns = doc.querySelectorAll(".segment-user, .segment-assistant").length;
    return turns ? { ...health, turns } : health;
  },
};
