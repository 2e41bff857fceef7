/**
 * DeepSeek: GET /api/v0/chat/history_messages?chat_session_id=… answers the session's message tree
 * (`message_id`, `parent_id`, `role` USER/ASSISTANT, `status` FINISHED); older answers carry `content`,
 * newer ones `fragments[]{type: REQUEST/THINK/RESPONSE, content}` (capture-sites.md §1).
 */
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, probeTurns, str, type Obj } from "./util.ts";

const HISTORY = /^https:\/\/chat\.deepseek\.com\/api\/v0\/chat\/history_messages\?/;

function idOf(v: unknown): string | undefined {
  return typeof v === "number" && Number.isFinite(v) ? String(v) : str(v);
}

function textOf(m: Obj): string | undefined {
  const fragments = arr(m.fragments);
  if (fragments) {
    const parts = fragments.filter(isObj).filter((f) => f.type === "RESPONSE" || f.type === "REQUEST")
      .map((f) => str(f.content) ?? "");
    return parts.join("\n").trim() || undefined;
  }
  return str(m.content)?.trim() || undefined;
}

function parseHistory(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  const biz = isObj(body) && isObj(body.data) && isObj(body.data.biz_data) ? body.data.biz_data : undefined;
  const data = need(biz, "data.biz_data");
  const session = need(isObj(data.chat_session) ? data.chat_session : undefined, "chat_session");
  const sessionId = need(str(session.id), "chat_session.id");
  const list = need(arr(data.chat_messages), "a `chat_messages` array");
  const messages: Msg[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObj(m)) throw new Drift(`chat_messages[${i}] is not an object`);
    const id = need(idOf(m.message_id), `chat_messages[${i}].message_id`);
    const role = need(str(m.role), `chat_messages[${i}].role`);
    if (role !== "USER" && role !== "ASSISTANT") throw new Drift(`chat_messages[${i}].role is ${role}`);
    const text = textOf(m);
    if (!text) continue;
    const user = role === "USER";
    messages.push({
      id, role: user ? "user" : "ai", text, parentId: idOf(m.parent_id) ?? undefined,
      complete: user || m.status === "FINISHED", createdAt: isoTime(m.inserted_at),
      params: user ? cleanParams({ thinking: m.thinking_enabled, search: m.search_enabled }) : undefined,
      meta: user ? undefined : cleanParams({ model: m.model }),
    });
  }
  return [{ kind: "snapshot", snapshot: {
    sessionId, title: str(session.title) || undefined, url: `https://chat.deepseek.com/a/chat/s/${sessionId}`, messages,
  } }];
}

export const deepseek: SiteAdapter = {
  id: "deepseek",
  version: 1,
  name: "DeepSeek",
  hosts: ["chat.deepseek.com"],
  imageHosts: [],
  capture: [HISTORY],
  authHeaders: ["authorization"],
  sessionFromUrl(url) {
    return /^\/a\/chat\/s\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || ex.method !== "GET" || !HISTORY.test(ex.url)) return [];
    return guarded("DeepSeek history", () => parseHistory(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["[data-um-id]", ".ds-markdown", "[class*='ds-message']"]);
  },
};
