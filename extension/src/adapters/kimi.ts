/**
 * Kimi: POST …/ChatService/ListMessages (kimi.chat.v1, later kimi.gateway.chat.v1) answers
 * `messages[]{id, parentId, role, createTime, blocks[]{text.content}, status}`; the chat id is in
 * the request body (`chat_id`/`chatId`) (capture-sites.md §1).
 */
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, guarded, isObj, isoTime, need, parseJson, probeTurns, str } from "./util.ts";
import { chainInOrder } from "./simple.ts";

const LIST = /^https:\/\/(?:www\.kimi\.com|kimi\.moonshot\.cn)\/apiv2\/kimi\.(?:gateway\.)?chat\.v1\.ChatService\/ListMessages(?:\?|$)/;

function parseList(ex: Exchange): Observation[] {
  const request = parseJson(ex.requestBody);
  const body = parseJson(ex.responseText);
  const list = need(isObj(body) ? arr(body.messages) : undefined, "a `messages` array");
  const sessionId = need(isObj(request) ? str(request.chat_id) ?? str(request.chatId) : undefined, "chat_id in the request");
  const messages: Msg[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObj(m)) throw new Drift(`messages[${i}] is not an object`);
    const role = need(str(m.role), `messages[${i}].role`);
    if (role !== "user" && role !== "assistant") continue;
    const text = (arr(m.blocks) ?? []).filter(isObj).map((b) => (isObj(b.text) ? str(b.text.content) ?? "" : ""))
      .join("\n").trim();
    if (!text) continue;
    messages.push({
      id: need(str(m.id), `messages[${i}].id`), role: role === "user" ? "user" : "ai", text,
      parentId: str(m.parentId) || undefined, createdAt: isoTime(m.createTime),
      complete: role === "user" || m.status === undefined || /COMPLETED|FINISHED/.test(String(m.status)),
    });
  }
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  return [{ kind: "snapshot", snapshot: { sessionId, url: `https://www.kimi.com/chat/${sessionId}`, messages: chainInOrder(messages) } }];
}

export const kimi: SiteAdapter = {
  id: "kimi",
  version: 1,
  name: "Kimi",
  hosts: ["www.kimi.com", "kimi.moonshot.cn"],
  imageHosts: [],
  capture: [LIST],
  authHeaders: ["authorization"],
  sessionFromUrl(url) {
    return /^\/chat\/([A-Za-z0-9-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || ex.method !== "POST" || !LIST.test(ex.url)) return [];
    return guarded("Kimi messages", () => parseList(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [".segment-user", ".segment-assistant", ".segment-content-box"]);
  },
};
