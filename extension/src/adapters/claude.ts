/**
 * Claude: the conversation tree from GET …/chat_conversations/{uuid}?tree=True (`chat_messages`,
 * `parent_message_uuid`, `current_leaf_message_uuid`). A finished `/completion` or
 * `/retry_completion` stream triggers a re-fetch of the tree, which is what the app itself does
 * (capture-sites.md §2, lugia19 `tts-interceptor.js`): the tree is the record, the stream only says "done".
 */
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, parseJson, parseSse, probeTurns, str } from "./util.ts";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TREE = new RegExp(`^https://claude\\.ai/api/organizations/(${UUID})/chat_conversations/(${UUID})(?:\\?|$)`);
const COMPLETION = new RegExp(
  `^https://claude\\.ai/api/organizations/(${UUID})/chat_conversations/(${UUID})/(?:retry_)?completion(?:\\?|$)`,
);
const ROOT = "00000000-0000-4000-8000-000000000000";

function treeUrl(org: string, conv: string): string {
  return `https://claude.ai/api/organizations/${org}/chat_conversations/${conv}` +
    "?tree=True&rendering_mode=messages&render_all_tools=true";
}

function messageText(m: { [key: string]: unknown }): string | undefined {
  const blocks = arr(m.content);
  if (blocks) {
    const texts = blocks.filter(isObj).filter((b) => b.type === "text").map((b) => str(b.text) ?? "");
    const joined = texts.join("\n").trim();
    if (joined) return joined;
  }
  const text = str(m.text)?.trim();
  return text || undefined;
}

function parseTree(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  if (!isObj(body)) throw new Drift("the conversation response is not a JSON object");
  const sessionId = need(str(body.uuid), "uuid");
  const list = need(arr(body.chat_messages), "a `chat_messages` array");
  const model = str(body.model);
  const messages: Msg[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObj(m)) throw new Drift(`chat_messages[${i}] is not an object`);
    const id = need(str(m.uuid), `chat_messages[${i}].uuid`);
    const sender = need(str(m.sender), `chat_messages[${i}].sender`);
    if (sender !== "human" && sender !== "assistant") throw new Drift(`chat_messages[${i}].sender is ${sender}`);
    const parent = str(m.parent_message_uuid);
    const text = messageText(m);
    if (!text) continue;
    // A stored assistant turn is complete unless the tree says it is still streaming.
    const complete = sender === "human" || m.stop_reason !== null || !("stop_reason" in m);
    messages.push({
      id, role: sender === "human" ? "user" : "ai", text, complete,
      parentId: parent && parent !== ROOT ? parent : undefined,
      createdAt: isoTime(m.created_at),
      params: sender === "human" ? cleanParams({ model }) : undefined,
      meta: sender === "assistant" ? cleanParams({ model }) : undefined,
    });
  }
  // Parents before children; the tree lists messages by index, which already holds for real data.
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  return [{
    kind: "snapshot",
    snapshot: { sessionId, title: str(body.name) || undefined, url: `https://claude.ai/chat/${sessionId}`, messages },
  }];
}

function parseCompletion(ex: Exchange): Observation[] {
  const m = COMPLETION.exec(ex.url);
  if (!m?.[1] || !m[2]) return [];
  const events = parseSse(ex.responseText);
  const finished = events.some((e) => e.event === "message_stop" ||
    (e.event === "completion" && isObj(parseJson(e.data)) && (parseJson(e.data) as { stop_reason?: unknown }).stop_reason));
  if (!finished) {
    if (events.length && !events.some((e) => /message_start|content_block|completion|ping|error/.test(e.event))) {
      throw new Drift("the completion stream carried no event this adapter knows");
    }
    return [];
  }
  return [{ kind: "reconcile", url: treeUrl(m[1], m[2]) }];
}

export const claude: SiteAdapter = {
  id: "claude",
  version: 1,
  name: "Claude",
  hosts: ["claude.ai"],
  imageHosts: [],
  capture: [TREE, COMPLETION],
  sessionFromUrl(url) {
    return new RegExp(`^/chat/(${UUID})`).exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status < 200 || ex.status >= 300) return [];
    if (ex.method === "GET" && TREE.test(ex.url)) return guarded("Claude conversation", () => parseTree(ex));
    if (ex.method === "POST" && COMPLETION.test(ex.url)) return guarded("Claude completion", () => parseCompletion(ex));
    return [];
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, [
      "[data-testid='user-message']", "div.font-claude-response", "[data-is-streaming]", "div.standard-markdown",
    ]);
  },
};
