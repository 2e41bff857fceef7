/**
 * Gemini (live-traffic-2026.md §2.3). The turn streams from POST …/BardFrontendService/StreamGenerate:
 * the prompt and the turn it follows are in the form field `f.req`, the requested model in the request
 * header `x-goog-ext-525001261-jspb`, and the answer in cumulative `wrb.fr` snapshots whose candidate 0
 * is the shown draft (`rc_…`, done when `[8][0] == 2`). After each turn the saved chat is read again
 * with batchexecute `hNvQHb`, as the page does on load; the read-chat turns give the parents the
 * stream does not name and the drafts of a redo.
 *
 * Message ids: a user turn is its response id `r_…`, an answer its draft id `rc_…` under it, so the
 * stream and the saved chat name the same messages.
 */
import type { Json } from "../core/jcs.ts";
import { type Candidate, at, candidate, formField, rpcEntries, sendRequest } from "./gemini-wire.ts";
import { CodedDrift, countTurns, guardedWithCode } from "./guard.ts";
import { ROOT_PARENT, type Exchange, type Msg, type Observation, type PageState, type SiteAdapter } from "./types.ts";
import { arr, isoTime, num, probeTurns, str } from "./util.ts";

const BASE = /^https:\/\/gemini\.google\.com(\/u\/\d+)?\/_\/BardChatUi\/data\//;
const STREAM = /^https:\/\/gemini\.google\.com(?:\/u\/\d+)?\/_\/BardChatUi\/data\/assistant\.lamda\.BardFrontendService\/StreamGenerate(?:\?|$)/;
const READ_CHAT = /^https:\/\/gemini\.google\.com(?:\/u\/\d+)?\/_\/BardChatUi\/data\/batchexecute\?(?:[^#]*&)?rpcids=[^&#]*hNvQHb/;
const MODEL_HEADER = "x-goog-ext-525001261-jspb";
const TURN_SELECTORS = ["user-query", "model-response"];

/** What one page remembers between exchanges. */
interface Memory {
  /** The page's XSRF token (`at`), which batchexecute needs as the page sends it. */
  at?: string;
  /** The raw model header per response id `r_…`, for the saved chat, which does not carry it. */
  models: Map<string, string>;
  /** User turns seen streaming: response id → parent draft and prompt, to recognise a redo. */
  turns: Map<string, { parent?: string; text?: string }>;
  /** A redo answered under a new response id: new `r_` → the turn it repeats. */
  alias: Map<string, string>;
  /** Drafts whose stream ended without the done flag: the user stopped them (or the site cut them off). */
  unfinished: Set<string>;
}

function memoryOf(state: PageState): Memory {
  let m = state.get("gemini") as Memory | undefined;
  if (!m) {
    m = { models: new Map(), turns: new Map(), alias: new Map(), unfinished: new Set() };
    state.set("gemini", m);
  }
  return m;
}

function origin(url: string): string {
  return "https://gemini.google.com" + (BASE.exec(url)?.[1] ?? "");
}

function sessionOf(conv: string): string {
  return conv.replace(/^c_/, "");
}

/** The read-chat request the page itself makes for a conversation (GA-K rpc id `hNvQHb`). */
function readChat(base: string, conv: string, token: string | undefined): Observation & { kind: "reconcile" } {
  const rpc = [[["hNvQHb", JSON.stringify([conv, 10, null, 1, [0], [4], null, 1]), null, "generic"]]];
  const body = new URLSearchParams({ "f.req": JSON.stringify(rpc), ...(token ? { at: token } : {}) }).toString();
  const sourcePath = encodeURIComponent(`/app/${sessionOf(conv)}`);
  return { kind: "reconcile", method: "POST", url: `${base}/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=${sourcePath}&rt=c`, body };
}

function modelFacts(raw: string | undefined): { params?: { [k: string]: Json }; meta?: { [k: string]: Json } } {
  // The header is an opaque positional array, not a model name [SBO]; the reference maps no values,
  // so the raw value is the evidence, named by where it came from.
  if (!raw) return {};
  return { params: { model: raw }, meta: { model: raw, model_source: `request header ${MODEL_HEADER}` } };
}

function answerMsg(c: Candidate, parentId: string, response: string, model: string | undefined, mem: Memory, complete: boolean): Msg {
  const facts = modelFacts(model);
  return {
    id: c.draftId, role: "ai", parentId, text: c.text, complete,
    stopped: complete && mem.unfinished.has(c.draftId) ? true : undefined,
    images: c.images.length ? c.images : undefined,
    params: facts.params, meta: facts.meta, refs: { response_id: response },
  };
}

function parseStream(ex: Exchange, mem: Memory): Observation[] {
  const { entries, lines } = rpcEntries(ex.responseText);
  const token = formField(ex.requestBody, "at");
  if (token) mem.at = token;
  if (!entries.length) {
    if (lines > 0) throw new CodedDrift("the answer holds JSON lines but no `wrb.fr` entry", "no-parse");
    return []; // nothing streamed yet
  }
  let conv: string | undefined;
  let response: string | undefined;
  let shown: Candidate | undefined;
  let understood = 0;
  let siteError: number | undefined;
  for (const e of entries) {
    if (e.payload === undefined || e.payload === null) {
      siteError = e.error ?? siteError; // an error frame, or a frame without payload (keep-alive)
      continue;
    }
    const c = str(at(e.payload, 1, 0));
    const r = str(at(e.payload, 1, 1));
    const cand = candidate(at(e.payload, 4, 0));
    if (c?.startsWith("c_")) conv = c;
    if (r?.startsWith("r_")) response = r;
    if (cand) shown = cand; // cumulative snapshots: the last one is the fullest
    if (c || r || cand) understood++;
  }
  if (!understood) {
    if (siteError !== undefined) return []; // the site answered an error: no turn happened
    throw new CodedDrift("no `wrb.fr` entry carries conversation ids or a candidate", "no-parse");
  }
  if (!conv || !response) throw new CodedDrift("the answer names no conversation (c_…) or response (r_…)");
  const req = sendRequest(ex.requestBody);
  const model = ex.requestHeaders?.[MODEL_HEADER];
  // f.req[2] names the turn this prompt follows; a first prompt (a new chat, or an edit of the
  // first prompt, which re-sends the conversation id alone) hangs under the root.
  const parent = req.parentDraft ?? (req.parentResponse ? undefined : ROOT_PARENT);
  let userId = mem.alias.get(response) ?? response;
  if (!mem.turns.has(userId)) {
    // A redo re-sends the same prompt after the same turn; if it comes back under a new `r_`, it
    // is still the same user turn, so the new draft is a regeneration, not an edit.
    const repeated = [...mem.turns].find(([, t]) => t.parent === parent && t.text === req.prompt && req.prompt !== undefined);
    if (repeated) {
      mem.alias.set(response, repeated[0]);
      userId = repeated[0];
    } else mem.turns.set(userId, { parent, text: req.prompt });
  }
  if (model) mem.models.set(response, model);
  const messages: Msg[] = [];
  if (req.prompt) messages.push({ id: userId, role: "user", text: req.prompt, parentId: parent, complete: true, params: modelFacts(model).params });
  if (shown && (shown.text || shown.images.length)) {
    if (shown.done) mem.unfinished.delete(shown.draftId);
    else mem.unfinished.add(shown.draftId);
    messages.push(answerMsg(shown, userId, response, model, mem, shown.done));
  }
  const sessionId = sessionOf(conv);
  const base = origin(ex.url);
  return [
    { kind: "snapshot", snapshot: { sessionId, url: `${base}/app/${sessionId}`, messages, source: "stream", currentId: shown?.done ? shown.draftId : undefined } },
    // Read the saved chat after every turn; a stopped draft is recorded as the site saved it.
    { ...readChat(base, conv, mem.at), delays: shown?.done ? [1500] : [1500, 8000] },
  ];
}

/**
 * One read-chat turn (capture-sites.md §1 after OB1 `extractor-gemini-history.js`; parents per a public
 * capture, 2026): [0] `[c_, r_]`, [1] the followed turn `[c_, r_prev, rc_prev]` (our reading of where
 * that capture puts it), [2][0][0] the prompt, [3][0] the drafts (same candidate layout as the
 * stream), [3][3] the chosen draft, [4][0] seconds since the epoch.
 */
function turnMessages(turn: unknown, i: number, mem: Memory): { msgs: Msg[]; chosen?: string; conv: string } {
  const conv = str(at(turn, 0, 0));
  const rawResponse = str(at(turn, 0, 1));
  if (!conv?.startsWith("c_") || !rawResponse?.startsWith("r_")) throw new CodedDrift(`turn ${i} has no [c_, r_] ids`);
  const response = mem.alias.get(rawResponse) ?? rawResponse;
  const drafts = arr(at(turn, 3, 0));
  if (!drafts) throw new CodedDrift(`turn ${i} has no drafts at [3][0]`);
  const createdAt = isoTime(num(at(turn, 4, 0)));
  const known = mem.turns.get(response);
  const followed = at(turn, 1);
  const parentFromTurn = Array.isArray(followed) ? (str(followed[2]) || (str(followed[1]) ? undefined : ROOT_PARENT)) : undefined;
  const parent = known?.parent ?? parentFromTurn;
  const model = mem.models.get(rawResponse) ?? mem.models.get(response);
  const facts = modelFacts(model);
  const msgs: Msg[] = [];
  const prompt = str(at(turn, 2, 0, 0));
  if (prompt) msgs.push({ id: response, role: "user", text: prompt, parentId: parent, complete: true, createdAt, params: facts.params });
  // Every saved draft is an answer the site generated for this turn (one per generation today). A
  // draft that says it is not done is still being written (the chat can be read mid-turn), unless
  // its stream already ended without the flag: then it stands as the user stopped it.
  for (const d of drafts) {
    const c = candidate(d);
    const flagged = at(d, 8, 0) !== undefined;
    const complete = c !== undefined && (c.done || !flagged || mem.unfinished.has(c.draftId));
    if (c && (c.text || c.images.length)) msgs.push({ ...answerMsg(c, response, rawResponse, model, mem, complete), createdAt });
  }
  const chosen = str(at(turn, 3, 3)) ?? str(at(drafts, 0, 0));
  return { msgs, chosen, conv };
}

function parseReadChat(ex: Exchange, mem: Memory): Observation[] {
  const { entries, lines } = rpcEntries(ex.responseText);
  const mine = entries.filter((e) => e.rpc === "hNvQHb");
  if (!mine.length) {
    if (lines > 0) throw new CodedDrift("the batchexecute answer has no `hNvQHb` entry", "no-parse");
    return [];
  }
  const out: Observation[] = [];
  for (const e of mine) {
    if (e.payload === undefined || e.payload === null) continue; // an error entry, or a chat with nothing saved yet
    const turns = arr(at(e.payload, 0));
    if (!turns) throw new CodedDrift("the read-chat payload has no turn list at [0]");
    if (!turns.length) continue;
    // The list is newest first (GA-C reads it in reverse); emit parents before children.
    const parsed = turns.map((t, i) => turnMessages(t, i, mem));
    const conv = parsed[0]?.conv ?? "";
    const sessionId = sessionOf(conv);
    const messages = parsed.slice().reverse().flatMap((p) => p.msgs);
    // No `treeIds`: the read is the last ten turns of the path shown (readChat asks for 10), each with
    // its saved drafts, and whether a redo is a new draft of its turn or a new turn is unverified
    // (§2.3): a newer read can lack the draft known before, so the older-copy rule would drop a real
    // selection.
    out.push({ kind: "snapshot", snapshot: {
      sessionId, url: `${origin(ex.url)}/app/${sessionId}`, messages, source: "history", currentId: parsed[0]?.chosen,
    } });
  }
  return out;
}

export const gemini: SiteAdapter = {
  id: "gemini",
  version: 2,
  name: "Gemini",
  capabilities: {
    liveTurns: "public-capture", history: "public-capture", edits: "public-capture", regenerations: "documented",
    selection: "documented", model: "public-capture", images: "public-capture", identity: "none",
  },
  hosts: ["gemini.google.com"],
  // Generated images are served from lh3 (`/rd-gg-dl/…`, `/gg-dl/…`) (capture-sites.md §2).
  imageHosts: ["lh3.googleusercontent.com"],
  capture: [STREAM, READ_CHAT],
  requestHeaders: [MODEL_HEADER],
  sessionFromUrl(url) {
    return /^\/(?:u\/\d+\/)?app\/([0-9a-f]{8,32})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex, state) {
    if (ex.status !== 200 || ex.method !== "POST") return [];
    const mem = memoryOf(state);
    if (STREAM.test(ex.url)) return guardedWithCode("Gemini StreamGenerate", undefined, () => parseStream(ex, mem));
    if (READ_CHAT.test(ex.url)) return guardedWithCode("Gemini read chat (hNvQHb)", undefined, () => parseReadChat(ex, mem));
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null, [...TURN_SELECTORS, ".conversation-container"]);
    return { ...health, turns: countTurns(doc, TURN_SELECTORS) };
  },
};
