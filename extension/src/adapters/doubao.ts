/**
 * Doubao (doubao.com) and its international twin Dola (dola.com), live-traffic-2026.md §2.8.
 *
 * A turn is POST /chat/completion, streamed as SSE named events: `STREAM_MSG_NOTIFY` opens a
 * message (the user's echo or the answer) with its first content blocks, `STREAM_CHUNK` carries
 * `patch_op[]` whose `patch_value.content_block[]` extend it (text blocks append; media blocks are
 * re-sent whole as they update, so the last one counts), `FULL_MSG_NOTIFY` delivers the finished
 * message whole, which is the done marker: an answer without it was stopped. Heartbeat and ack
 * events carry nothing. The payload layout inside the events follows the history's message shape
 * (`message_id`, `user_type`, `content`, `content_block`, `reply_id`); the reference quotes the
 * event names and `patch_op` only, so the layout is marked public-capture, not live.
 *
 * Regenerate and edit are request options (`is_regen` + `regen_query_id`, `edit_query_id`): they
 * name the user message acted on, which is where parents come from. The saved conversation is POST
 * /im/chain/single (`downlink_body.pull_singe_chain_downlink_body.messages[]`) or
 * /im/chain/recent_conv (`cells[].conversation.messages`); its messages name no parent, so none is
 * invented (§4.4): only an answer's `reply_id` links it to its prompt.
 */
import { contentText, messageContent, readBlocks, TEXT_BLOCK } from "./doubao-blocks.ts";
import type { Capabilities, Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, cleanParams, guarded, isObj, isoTime, need, num, parseJson, parseSse, probeTurns, slot, str, type Obj } from "./util.ts";

const HOST = "(www\\.doubao\\.com|www\\.dola\\.com)";
const COMPLETION = new RegExp(`^https://${HOST}/chat/completion(?:\\?|$)`);
const CHAIN = new RegExp(`^https://${HOST}/im/chain/(single|recent_conv)(?:\\?|$)`);
const QUIET_EVENTS = /HEARTBEAT|ACK|PING|SSE_REPLY_END|STREAM_END/;

interface PageMemory { parents: Map<string, string | undefined>; chain?: { url: string; body?: string } }
const memoryOf = (state: Map<string, unknown>) => slot<PageMemory>(state, "doubao", () => ({ parents: new Map() }));

// ---- the live turn ----

interface Live { id: string; user: boolean; replyTo?: string; conversation?: string; blocks: Obj[]; full?: Obj }

function messageOf(data: Obj): Obj {
  return isObj(data.message) ? data.message : isObj(data.meta) ? { ...data.meta, ...data } : data;
}

function applyPatch(live: Live, patch: Obj): void {
  const value = isObj(patch.patch_value) ? patch.patch_value : {};
  for (const b of arr(value.content_block) ?? []) {
    if (!isObj(b)) continue;
    const id = str(b.block_id);
    const at = id ? live.blocks.findIndex((x) => str(x.block_id) === id) : -1;
    const before = at >= 0 ? live.blocks[at] : undefined;
    if (before && b.block_type === TEXT_BLOCK && before.block_type === TEXT_BLOCK) {
      // Text arrives as increments of the same block.
      const prev = readBlocks([before]).text ?? "";
      const more = readBlocks([b]).text ?? "";
      live.blocks[at] = { ...b, content: { text_block: { text: prev + more } } };
    } else if (at >= 0) live.blocks[at] = b; // a media block re-sent whole: keep the last
    else live.blocks.push(b);
  }
}

function readTurn(text: string): { messages: Live[]; error?: string; events: number; understood: number } {
  const byId = new Map<string, Live>();
  let current: Live | undefined;
  let error: string | undefined;
  let events = 0;
  let understood = 0;
  for (const e of parseSse(text)) {
    events += 1;
    const data = parseJson(e.data);
    if (QUIET_EVENTS.test(e.event)) {
      understood += 1;
      continue;
    }
    if (!isObj(data)) continue;
    const code = num(data.error_code) ?? num(data.code);
    if (/ERROR/.test(e.event) || (code !== undefined && code !== 0)) {
      understood += 1;
      error = str(data.error_msg) ?? str(data.message) ?? `error ${String(code ?? e.event)}`;
      continue;
    }
    if (e.event === "STREAM_MSG_NOTIFY" || e.event === "FULL_MSG_NOTIFY") {
      const m = messageOf(data);
      const id = str(m.message_id);
      if (!id) continue;
      understood += 1;
      const live: Live = byId.get(id) ?? { id, user: m.user_type === 1, blocks: [] };
      live.replyTo = str(m.reply_id) ?? live.replyTo;
      live.conversation = str(m.conversation_id) ?? live.conversation;
      if (e.event === "FULL_MSG_NOTIFY") live.full = m;
      else live.blocks = (arr(m.content_block) ?? arr(isObj(m.content) ? m.content.content_block : undefined) ?? []).filter(isObj);
      byId.set(id, live);
      current = live;
    } else if (e.event === "STREAM_CHUNK") {
      const target = byId.get(str(data.message_id) ?? "") ?? current;
      const ops = arr(data.patch_op);
      if (!target || !ops) continue;
      understood += 1;
      for (const op of ops) if (isObj(op)) applyPatch(target, op);
    }
  }
  return { messages: [...byId.values()], error, events, understood };
}

function options(request: Obj): Obj {
  return { ...request, ...(isObj(request.option) ? request.option : {}), ...(isObj(request.completion_option) ? request.completion_option : {}) };
}

function chainRead(mem: PageMemory, origin: string, conversation: string): { url: string; body: string } {
  const own = mem.chain;
  const body = own?.body?.replace(/"conversation_id"\s*:\s*"\d+"/, `"conversation_id":"${conversation}"`);
  if (own && body) return { url: own.url, body };
  // The page's own read is reused when it was seen; otherwise the uplink twin of the downlink shape.
  return { url: `${origin}/im/chain/single`, body: JSON.stringify({ cmd: 3100, uplink_body: { pull_singe_chain_uplink_body: {
    conversation_id: conversation, anchor_index: Number.MAX_SAFE_INTEGER, conversation_type: 3, direction: 1, limit: 20 } } }) };
}

function parseTurn(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const origin = new URL(ex.url).origin;
  const request = parseJson(ex.requestBody);
  if (!isObj(request)) throw new Drift("the completion request is not JSON");
  const turn = readTurn(ex.responseText);
  if (!turn.understood) throw new Drift(turn.events ? `${turn.events} stream events, none understood` : "an empty stream");
  const opt = options(request);
  const regenOf = opt.is_regen === true ? str(opt.regen_query_id) : undefined;
  const editOf = str(opt.edit_query_id);
  const mem = memoryOf(state);
  const conversation = turn.messages.find((m) => m.conversation)?.conversation ?? str(request.conversation_id);
  const sessionId = need(conversation && /^\d{6,30}$/.test(conversation) ? conversation : undefined, "a conversation_id");
  const sent = arr(request.messages)?.find(isObj);
  const messages: Msg[] = [];
  const userEcho = turn.messages.find((m) => m.user);
  const replyTo = turn.messages.find((m) => !m.user && m.replyTo)?.replyTo;
  const userId = userEcho?.id ?? regenOf ?? replyTo ?? str(request.local_message_id);
  // The modes the user chose for this turn (deep thinking, automatic thinking, the agent).
  const params = cleanParams({ thinking: opt.use_deep_think, auto_thinking: opt.use_auto_cot, bot_id: request.bot_id });
  if (!regenOf && userId && sent) {
    // An edit replaces a known message: it hangs where that one did (the site names no parent).
    const parent = editOf ? mem.parents.get(editOf) : undefined;
    mem.parents.set(userId, parent);
    messages.push({
      id: userId, role: "user", text: contentText(sent.content), complete: true, parentId: parent, params,
      act: editOf ? "edit" : regenOf ? "regenerate" : undefined, refs: editOf ? { edit_query_id: editOf } : undefined,
    });
  }
  for (const live of turn.messages.filter((m) => !m.user)) {
    const content = live.full ? messageContent(live.full) : readBlocks(live.blocks);
    if (!content.text && !content.images.length && !turn.error) continue;
    messages.push({
      id: live.id, role: "ai", parentId: live.replyTo ?? regenOf ?? userId, text: content.text, complete: true,
      stopped: !live.full && !turn.error ? true : undefined, params,
      images: content.images.length ? content.images : undefined,
      meta: cleanParams({ image_prompt: content.imagePrompt, error: turn.error }),
      refs: regenOf ? { regen_query_id: regenOf } : undefined,
    });
  }
  const out: Observation[] = [];
  if (messages.length) {
    out.push({ kind: "snapshot", snapshot: { sessionId, url: `${origin}/chat/${sessionId}`, messages, source: "stream" } });
  }
  const read = chainRead(mem, origin, sessionId);
  const images = messages.some((m) => m.images?.length);
  out.push({ kind: "reconcile", url: read.url, method: "POST", body: read.body, delays: images ? [0, 8000, 25000] : [0, 8000] });
  return out;
}

// ---- the saved conversation ----

function parseChain(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const body = parseJson(ex.responseText);
  const down = isObj(body) && isObj(body.downlink_body) ? body.downlink_body : undefined;
  const chain = down && isObj(down.pull_singe_chain_downlink_body) ? down.pull_singe_chain_downlink_body : undefined;
  const cells = isObj(body) ? arr(body.cells) ?? (isObj(body.data) ? arr(body.data.cells) : undefined) : undefined;
  const list = chain ? arr(chain.messages)
    : cells?.flatMap((c) => (isObj(c) && isObj(c.conversation) ? arr(c.conversation.messages) ?? [] : []));
  const found = need(list, "downlink_body.pull_singe_chain_downlink_body.messages or cells[].conversation.messages");
  if (/single/.test(ex.url)) memoryOf(state).chain = { url: ex.url, body: ex.requestBody };
  const origin = new URL(ex.url).origin;
  const sorted = [...found].sort((a, b) => (num(isObj(a) ? a.index_in_conv : 0) ?? 0) - (num(isObj(b) ? b.index_in_conv : 0) ?? 0));
  const bySession = new Map<string, Msg[]>();
  for (const [i, m] of sorted.entries()) {
    if (!isObj(m)) throw new Drift(`messages[${i}] is not an object`);
    const id = need(str(m.message_id), `messages[${i}].message_id`);
    const session = need(str(m.conversation_id), `messages[${i}].conversation_id`);
    const user = m.user_type === 1;
    const { text, images, imagePrompt } = messageContent(m);
    if (!text && !images.length) continue;
    const list = bySession.get(session) ?? [];
    list.push({
      id, role: user ? "user" : "ai", text, parentId: user ? undefined : str(m.reply_id),
      complete: user || m.status === undefined || m.status === 0 || m.status === "finished",
      createdAt: isoTime(m.create_time), images: images.length ? images : undefined,
      meta: imagePrompt ? { image_prompt: imagePrompt } : undefined,
    });
    bySession.set(session, list);
  }
  if (!bySession.size && chain) {
    const id = need(str(chain.conversation_id), "a conversation_id");
    bySession.set(id, []);
  }
  return [...bySession].map(([sessionId, messages]) => ({
    kind: "snapshot" as const,
    snapshot: { sessionId, url: `${origin}/chat/${sessionId}`, messages, source: "history" as const },
  }));
}

const capabilities: Capabilities = {
  liveTurns: "public-capture",
  history: "public-capture",
  edits: "public-capture", // edit_query_id
  regenerations: "public-capture", // is_regen + regen_query_id
  selection: "none", // the active branch is not known
  model: "none", // not exposed
  images: "public-capture",
  identity: "none",
};

export const doubao: SiteAdapter = {
  id: "doubao",
  version: 2,
  name: "Doubao",
  capabilities,
  hosts: ["www.doubao.com", "www.dola.com"],
  // Creations are served from numbered ByteDance image hosts (p3-, p9-, p26-flow-imagex-sign…).
  imageHosts: ["*.byteimg.com"],
  capture: [COMPLETION, CHAIN],
  sessionFromUrl(url) {
    return /^\/chat\/(\d{6,30})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200 || ex.method !== "POST") return [];
    if (COMPLETION.test(ex.url)) return guarded("Doubao completion", () => parseTurn(ex, state), "no-parse");
    if (CHAIN.test(ex.url)) return guarded("Doubao chain", () => parseChain(ex, state), "unknown-shape");
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null,
      ["[data-testid='send_message']", "[data-testid='receive_message']", "[data-message-id]"]);
    const turns = doc.querySelectorAll("[data-testid='send_message'], [data-testid='receive_message']").length;
    return turns ? { ...health, turns } : health;
  },
};
