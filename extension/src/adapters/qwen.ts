/**
 * Qwen: GET chat.qwen.ai/api/v2/chats/{id} answers `data.chat.history.messages` keyed by id
 * (`parentId`, `role`, `content`, `done`, `timestamp`, `model`), the tree regenerations and edits
 * branch in; image results carry their URLs in `files[]`/`content_list` (capture-sites.md §1).
 */
import type { ImageRef } from "../core/record.ts";
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, probeTurns, str, mediaTypeFromUrl } from "./util.ts";

const CHAT = /^https:\/\/chat\.qwen\.ai\/api\/v2\/chats\/([0-9a-f-]{8,64})(?:\?|$)/;

function parseChat(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  const data = need(isObj(body) && isObj(body.data) ? body.data : undefined, "data");
  const sessionId = need(str(data.id), "data.id");
  const history = isObj(data.chat) && isObj(data.chat.history) ? data.chat.history : undefined;
  const map = need(history && isObj(history.messages) ? history.messages : undefined, "data.chat.history.messages");
  const messages: Msg[] = [];
  for (const [key, m] of Object.entries(map)) {
    if (!isObj(m)) throw new Drift(`messages.${key} is not an object`);
    const role = need(str(m.role), `messages.${key}.role`);
    if (role !== "user" && role !== "assistant") continue;
    const images: ImageRef[] = [];
    for (const f of [...(arr(m.files) ?? []), ...(arr(m.content_list) ?? [])]) {
      const url = isObj(f) ? str(f.image) ?? str(f.url) : undefined;
      if (url && /^https:/.test(url) && role === "assistant") images.push({ url, role: "output", mediaType: mediaTypeFromUrl(url) });
    }
    const text = str(m.content)?.trim() || undefined;
    if (!text && !images.length) continue;
    messages.push({
      id: str(m.id) ?? key, role: role === "user" ? "user" : "ai", text, parentId: str(m.parentId) || undefined,
      complete: role === "user" || m.done === true, createdAt: isoTime(m.timestamp),
      params: role === "user" ? cleanParams({ model: arr(m.models)?.[0] }) : undefined,
      meta: role === "assistant" ? cleanParams({ model: m.model }) : undefined,
      images: images.length ? images : undefined,
    });
  }
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  return [{ kind: "snapshot", snapshot: { sessionId, title: str(data.title), url: `https://chat.qwen.ai/c/${sessionId}`, messages } }];
}

export const qwen: SiteAdapter = {
  id: "qwen",
  version: 1,
  name: "Qwen",
  hosts: ["chat.qwen.ai"],
  imageHosts: ["cdn.qwenlm.ai"],
  capture: [CHAT],
  sessionFromUrl(url) {
    return /^\/c\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || ex.method !== "GET" || !CHAT.test(ex.url)) return [];
    return guarded("Qwen chat", () => parseChat(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [".chat-user", ".chat-response-message", ".user-message-content"]);
  },
};
