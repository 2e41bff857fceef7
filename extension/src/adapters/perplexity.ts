/**
 * Perplexity: GET /rest/thread/{slug} answers the thread's entries; each entry is one question
 * (`query_str`) and its answer (`blocks[].markdown_block.answer`, or `text`), with `status`
 * COMPLETED once finished and the model in `display_model` (capture-sites.md §1).
 */
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, probeTurns, str, type Obj } from "./util.ts";
import { chainInOrder } from "./simple.ts";

const THREAD = /^https:\/\/www\.perplexity\.ai\/rest\/thread\/([A-Za-z0-9._-]{4,200})(?:\?|$)/;

function answerOf(e: Obj): string | undefined {
  for (const b of arr(e.blocks) ?? []) {
    const md = isObj(b) && isObj(b.markdown_block) ? str(b.markdown_block.answer) : undefined;
    if (md?.trim()) return md.trim();
  }
  return str(e.answer)?.trim() || undefined;
}

function parseThread(ex: Exchange): Observation[] {
  const sessionId = need(THREAD.exec(ex.url)?.[1], "a thread slug in the URL");
  const body = parseJson(ex.responseText);
  const entries = need(isObj(body) ? arr(body.entries) : undefined, "an `entries` array");
  const messages: Msg[] = [];
  entries.forEach((e, i) => {
    if (!isObj(e)) throw new Drift(`entries[${i}] is not an object`);
    const id = need(str(e.backend_uuid) ?? str(e.uuid), `entries[${i}].backend_uuid`);
    const query = need(str(e.query_str), `entries[${i}].query_str`);
    const created = isoTime(e.updated_datetime ?? e.entry_updated_datetime);
    messages.push({ id: `${id}:q`, role: "user", text: query, complete: true, createdAt: created,
      params: cleanParams({ mode: e.mode, model: e.model_preference ?? e.display_model, search_focus: e.search_focus }) });
    const answer = answerOf(e);
    if (answer) messages.push({ id: `${id}:a`, role: "ai", parentId: `${id}:q`, text: answer, complete: e.status === "COMPLETED",
      createdAt: created, meta: cleanParams({ model: e.display_model }) });
  });
  const title = isObj(entries[0]) ? str(entries[0].thread_title) : undefined;
  return [{ kind: "snapshot", snapshot: { sessionId, title, url: `https://www.perplexity.ai/search/${sessionId}`, messages: chainInOrder(messages) } }];
}

export const perplexity: SiteAdapter = {
  id: "perplexity",
  version: 1,
  name: "Perplexity",
  hosts: ["www.perplexity.ai"],
  imageHosts: [],
  capture: [THREAD],
  sessionFromUrl(url) {
    return /^\/search\/([A-Za-z0-9._-]{4,200})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || ex.method !== "GET" || !THREAD.test(ex.url)) return [];
    return guarded("Perplexity thread", () => parseThread(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["[id^='markdown-content-']", ".prose", "h1.group\\/query"]);
  },
};
