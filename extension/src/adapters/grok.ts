/**
 * Grok: POST grok.com/rest/app-chat/conversations/{id}/load-responses answers the conversation's
 * responses (`responseId`, `parentResponseId`, `sender` human/assistant, `message`, `model`,
 * `generatedImageUrls`), the tree a regeneration or edit branches in (capture-sites.md §1).
 */
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, probeTurns, str } from "./util.ts";

const LOAD = /^https:\/\/grok\.com\/rest\/app-chat\/conversations\/([0-9a-f-]{8,64})\/load-responses(?:\?|$)/;

function parseLoad(ex: Exchange): Observation[] {
  const sessionId = need(LOAD.exec(ex.url)?.[1], "a conversation id in the URL");
  const body = parseJson(ex.responseText);
  const list = need(isObj(body) ? arr(body.responses) : undefined, "a `responses` array");
  const messages: Msg[] = list.map((r, i) => {
    if (!isObj(r)) throw new Drift(`responses[${i}] is not an object`);
    const sender = need(str(r.sender), `responses[${i}].sender`).toLowerCase();
    if (sender !== "human" && sender !== "assistant") throw new Drift(`responses[${i}].sender is ${sender}`);
    const images = (arr(r.generatedImageUrls) ?? []).filter((u): u is string => typeof u === "string")
      .map((u) => ({ url: new URL(u, "https://assets.grok.com/").href, role: "output" }));
    return {
      id: need(str(r.responseId), `responses[${i}].responseId`), role: sender === "human" ? "user" : "ai",
      parentId: str(r.parentResponseId) || undefined, text: str(r.message)?.trim() || undefined,
      complete: r.partial !== true, createdAt: isoTime(r.createTime),
      meta: sender === "assistant" ? cleanParams({ model: r.model }) : undefined,
      images: images.length ? images : undefined,
    } satisfies Msg;
  }).filter((m) => m.text || m.images);
  return [{ kind: "snapshot", snapshot: { sessionId, url: `https://grok.com/c/${sessionId}`, messages } }];
}

export const grok: SiteAdapter = {
  id: "grok",
  version: 1,
  name: "Grok",
  hosts: ["grok.com"],
  imageHosts: ["assets.grok.com"],
  capture: [LOAD],
  sessionFromUrl(url) {
    return /^\/c\/([0-9a-f-]{8,64})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || !LOAD.test(ex.url)) return [];
    return guarded("Grok responses", () => parseLoad(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["[id^='response-']", ".message-bubble", "[data-testid='message']"]);
  },
};
