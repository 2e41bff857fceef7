/**
 * What the Gemini, DeepSeek, Grok and Perplexity adapters observe on the live formats beyond the
 * records: stopped answers, active leaves, reconcile requests (method, body, no delta cache), drift
 * codes, quiet normal shapes, and each stream grammar's corner cases.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { deepseek } from "../src/adapters/deepseek.ts";
import { fullSizeImage, rpcEntries, sendRequest } from "../src/adapters/gemini-wire.ts";
import { gemini } from "../src/adapters/gemini.ts";
import { grok } from "../src/adapters/grok.ts";
import { applyFrame, type PatchCursor } from "../src/adapters/patch.ts";
import { answerOf } from "../src/adapters/perplexity-answer.ts";
import { perplexity } from "../src/adapters/perplexity.ts";
import { adapterTag, type Exchange, type Msg, type Observation, type PageState, type SiteAdapter, type Snapshot } from "../src/adapters/types.ts";
import { diffSnapshot, emptyMemory } from "../src/core/tracker.ts";
import { FIXTURES } from "./harness.ts";

function observe(adapter: SiteAdapter, name: string): Observation[] {
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as { exchanges: Exchange[] };
  const state: PageState = new Map();
  return fx.exchanges.flatMap((ex) => adapter.parse(ex, state));
}

/** As observe, and answers the adapter's re-reads from the fixture's responses (one level deep). */
function observeWithReads(adapter: SiteAdapter, name: string): Observation[] {
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as
    { exchanges: Exchange[]; responses?: { [key: string]: { text?: string } } };
  const state: PageState = new Map();
  const out: Observation[] = [];
  for (const ex of fx.exchanges) {
    for (const o of adapter.parse(ex, state)) {
      out.push(o);
      if (o.kind !== "reconcile") continue;
      const method = o.method ?? "GET";
      const canned = fx.responses?.[method === "GET" ? o.url : `${method} ${o.url}`];
      if (canned) out.push(...adapter.parse({ url: o.url, method, status: 200, requestBody: o.body, responseText: canned.text ?? "" }, state));
    }
  }
  return out;
}

const snapshots = (obs: Observation[]): Snapshot[] => obs.flatMap((o) => (o.kind === "snapshot" ? [o.snapshot] : []));
const messages = (obs: Observation[]): Msg[] => snapshots(obs).flatMap((s) => s.messages);
const drifts = (obs: Observation[]) => obs.flatMap((o) => (o.kind === "drift" ? [o] : []));
const reconciles = (obs: Observation[]) => obs.flatMap((o) => (o.kind === "reconcile" ? [o] : []));

describe("Gemini wire", () => {
  it("reads lines whatever the declared lengths say, and skips transport entries", () => {
    const payload = JSON.stringify([null, ["c_1", "r_1"]]);
    const text = `)]}'\n\n999\n${JSON.stringify([["wrb.fr", null, payload]])}\n3\n${JSON.stringify([["di", 1], ["af.httprm", 1]])}\n`;
    const { entries, lines } = rpcEntries(text);
    assert.equal(lines, 2);
    assert.deepEqual(entries.map((e) => e.payload), [[null, ["c_1", "r_1"]]]);
  });

  it("takes the prompt and the followed turn from f.req, and an empty [2] as none", () => {
    const body = (parent: string[]) => new URLSearchParams({
      "f.req": JSON.stringify([null, JSON.stringify([["hello"], null, parent])]), at: "t" }).toString();
    assert.deepEqual(sendRequest(body(["c_1", "r_1", "rc_1"])), { prompt: "hello", conversation: "c_1", parentResponse: "r_1", parentDraft: "rc_1" });
    assert.deepEqual(sendRequest(body(["", "", ""])), { prompt: "hello", conversation: undefined, parentResponse: undefined, parentDraft: undefined });
  });

  it("asks full size the way the public client falls back (=s2048-rj), whatever the preview size", () => {
    assert.equal(fullSizeImage("https://lh3.googleusercontent.com/gg-dl/AB=s1024-rj"), "https://lh3.googleusercontent.com/gg-dl/AB=s2048-rj");
    assert.equal(fullSizeImage("https://lh3.googleusercontent.com/rd-gg-dl/AB=w512-h512"), "https://lh3.googleusercontent.com/rd-gg-dl/AB=s2048-rj");
  });

  it("reads the saved chat by POST with the page's token after every turn, and names the shown draft", () => {
    const obs = observe(gemini, "gemini--follow-up");
    const [first] = reconciles(obs);
    assert.equal(first?.method, "POST");
    assert.match(first?.url ?? "", /batchexecute\?rpcids=hNvQHb&source-path=%2Fapp%2F5a1f0e2d3c4b6a79/);
    assert.equal(new URLSearchParams(first?.body).get("at"), "AJvLN6Mq3x:1764990000000");
    const history = snapshots(obs).filter((s) => s.source === "history");
    assert.equal(history.at(-1)?.currentId, "rc_b000000000000002");
  });

  it("marks a draft stopped only when its stream ended without the done flag", () => {
    const stopped = messages(observeWithReads(gemini, "gemini--stopped")).filter((m) => m.role === "ai");
    assert.deepEqual(stopped.map((m) => [m.complete, m.stopped]), [[false, undefined], [true, true]],
      "unfinished while streamed; final and stopped as the saved chat holds it");
    const streamed = messages(observe(gemini, "gemini--streaming")).filter((m) => m.role === "ai");
    assert.deepEqual(streamed.map((m) => [m.complete, m.stopped]), [[false, undefined], [true, undefined]]);
  });

  it("leaves a saved draft that is still being written unrecorded until it is done", () => {
    const draft = (done: number) => {
      const c: unknown[] = Array.from({ length: 9 }, () => null);
      c[0] = "rc_1";
      c[1] = ["half an ans"];
      c[8] = [done];
      return c;
    };
    const read = (done: number): Exchange => ({
      url: "https://gemini.google.com/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&rt=c", method: "POST", status: 200,
      responseText: `)]}'\n\n1\n${JSON.stringify([["wrb.fr", "hNvQHb",
        JSON.stringify([[[["c_1", "r_1"], ["", "", ""], [["a prompt"]], [[draft(done)], null, null, "rc_1"], [1764990000, 0]]]])]])}\n` });
    const answer = (done: number) => messages(gemini.parse(read(done), new Map())).find((m) => m.role === "ai");
    assert.equal(answer(1)?.complete, false, "mid-turn: the chat can be read while the draft streams");
    assert.equal(answer(2)?.complete, true);
  });

  it("keeps reasoning out and records the model header raw with its source", () => {
    const answer = messages(observe(gemini, "gemini--long-answer")).find((m) => m.role === "ai" && m.complete);
    assert.ok(answer?.text && !answer.text.includes("Thinking about"));
    assert.equal(answer?.meta?.model_source, "request header x-goog-ext-525001261-jspb");
    assert.deepEqual(gemini.requestHeaders, ["x-goog-ext-525001261-jspb"]);
  });

  it("says no-parse for lines it cannot read and unknown-shape for a moved turn list; an error frame is quiet", () => {
    assert.deepEqual(drifts(observe(gemini, "gemini--drifted")).map((d) => d.code), ["no-parse", "unknown-shape"]);
    const error: Exchange = { url: "https://gemini.google.com/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate?rt=c",
      method: "POST", status: 200, responseText: `)]}'\n\n40\n${JSON.stringify([["wrb.fr", null, null, null, null, [13]]])}\n` };
    assert.deepEqual(gemini.parse(error, new Map()), []);
  });
});

describe("DeepSeek patch frames", () => {
  it("opens with a snapshot, keeps the path sticky, and a BATCH leaves the sticky path alone", () => {
    const root = {};
    const cursor: PatchCursor = {};
    for (const f of [{ v: { response: { content: "", status: "WIP", fragments: [{ type: "RESPONSE", content: "" }] } } },
      { p: "response/fragments/-1/content", o: "APPEND", v: "one " },
      { p: "response", o: "BATCH", v: [{ p: "quasi_status", v: "FINISHED" }] }, { v: "two" }]) {
      assert.ok(applyFrame(root, f, cursor));
    }
    assert.deepEqual(root, { response: { content: "", status: "WIP", quasi_status: "FINISHED",
      fragments: [{ type: "RESPONSE", content: "one two" }] } });
  });

  it("refuses a path into nothing instead of inventing it", () => {
    assert.equal(applyFrame({ response: {} }, { p: "response/fragments/-1/content", o: "APPEND", v: "x" }, {}), false);
  });

  it("reads the history again without cache_version, and an edited first prompt keeps the root", () => {
    const obs = observe(deepseek, "deepseek--edit");
    assert.ok(reconciles(obs).every((r) => !r.url.includes("cache_version") && (r.method ?? "GET") === "GET"));
    const roots = messages(obs).filter((m) => m.role === "user" && m.parentId === "(root)").map((m) => m.id);
    assert.deepEqual([...new Set(roots)], ["1", "5"]);
    assert.equal(snapshots(obs).at(-1)?.currentId, "6");
  });

  it("marks the saved INCOMPLETE answer stopped, and codes drift", () => {
    const answer = messages(observeWithReads(deepseek, "deepseek--stopped")).filter((m) => m.role === "ai").at(-1);
    assert.equal(answer?.complete, true);
    assert.equal(answer?.stopped, true);
    assert.deepEqual(drifts(observe(deepseek, "deepseek--drifted")).map((d) => d.code), ["no-parse", "unknown-shape"]);
  });

  it("Grok and Perplexity: a stream ended early is final only as saved, then stopped", () => {
    for (const [adapter, name] of [[grok, "grok--stopped"], [perplexity, "perplexity--stopped"]] as const) {
      const answers = messages(observeWithReads(adapter, name)).filter((m) => m.role === "ai");
      assert.deepEqual(answers.map((m) => [m.complete, m.stopped]), [[false, undefined], [true, true]], name);
    }
  });
});

describe("DeepSeek active leaf", () => {
  // Shapes of live-traffic-2026.md §2.4: the completion SSE (ready / patch frames / finish / close) and
  // GET history_messages (integer ids, parent_id null on the first prompt, current_message_id).
  const session = "7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a42";
  const api = "https://chat.deepseek.com/api/v0/chat";
  const sse = (frames: [string | undefined, object][]) =>
    frames.map(([event, data]) => `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`).join("");
  /** A finished answer `answer` to prompt 1: a first completion, or a regeneration. */
  const turn = (answer: number): Exchange => ({
    url: `${api}/${answer === 2 ? "completion" : "regenerate"}`, method: "POST", status: 200,
    requestBody: JSON.stringify(answer === 2
      ? { chat_session_id: session, parent_message_id: null, prompt: "When is high water?", thinking_enabled: false, search_enabled: false }
      : { chat_session_id: session, message_id: answer - 1, parent_message_id: 1 }),
    responseText: sse([["ready", { request_message_id: 1, response_message_id: answer, model_type: "default" }],
      [undefined, { v: { response: { message_id: answer, parent_id: 1, role: "ASSISTANT", status: "WIP", content: "" } } }],
      [undefined, { p: "response/content", o: "APPEND", v: `High water at 06:1${answer}.` }],
      [undefined, { p: "response/status", o: "SET", v: "FINISHED" }], ["finish", {}], ["close", {}]]),
  });
  /** The saved session holding `ids` (1 the prompt, the rest its answers); `cacheVersion` as the page asks. */
  const history = (current: number, ids: number[], cacheVersion?: number): Exchange => ({
    url: `${api}/history_messages?chat_session_id=${session}${cacheVersion === undefined ? "" : `&cache_version=${cacheVersion}`}`,
    method: "GET", status: 200,
    responseText: JSON.stringify({ code: 0, data: { biz_code: 0, biz_data: {
      chat_session: { id: session, title: "Tides", current_message_id: current },
      chat_messages: ids.map((id) => ({ message_id: id, parent_id: id === 1 ? null : 1, role: id === 1 ? "USER" : "ASSISTANT",
        status: "FINISHED", content: id === 1 ? "When is high water?" : `High water at 06:1${id}.`, inserted_at: 1764990000 + id })),
    } } }),
  });
  /** The record types each exchange yields, the adapter's snapshots fed to the tracker in this order. */
  const steps = (exchanges: Exchange[]): string[][] => {
    const state: PageState = new Map();
    let memory = emptyMemory();
    let n = 0;
    return exchanges.map((ex) => snapshots(deepseek.parse(ex, state)).flatMap((snap) => {
      const out = diffSnapshot(deepseek.id, adapterTag(deepseek), snap, memory, { ids: () => `R${++n}` });
      memory = out.memory;
      return out.drafts.map((d) => d.type);
    }));
  };

  it("a read saved before a regeneration and handled after its stream is an older tree: no selection either way", () => {
    const older = history(2, [1, 2]);
    assert.deepEqual(steps([turn(2), history(2, [1, 2]), turn(3), older, history(3, [1, 2, 3])]),
      [["parameters", "prompt", "output"], [], ["regenerate", "output"], [], []]);
  });

  it("a whole read that holds the known leaf and names another answer is the user's selection", () => {
    assert.deepEqual(steps([turn(2), turn(3), history(2, [1, 2, 3])]).at(-1), ["selection"]);
  });

  it("the page's own read with cache_version may be a delta: its leaf still counts, the missing ids do not", () => {
    assert.deepEqual(steps([turn(2), turn(3), history(2, [1, 2, 3]), history(3, [], 7)]).slice(2), [["selection"], ["selection"]]);
  });
});

describe("Grok two-step history", () => {
  it("turns the skeleton into a POST load-responses for every node and gives the bodies its parents", () => {
    const obs = observe(grok, "grok--follow-up");
    const load = reconciles(obs).at(-1);
    assert.equal(load?.method, "POST");
    assert.equal(JSON.parse(load?.body ?? "{}").responseIds.length, 4);
    const history = snapshots(obs).filter((s) => s.source === "history").at(-1);
    assert.deepEqual(history?.messages.map((m) => m.parentId), ["(root)", "a1000000-0000-4000-8000-000000000001",
      "a1000000-0000-4000-8000-000000000002", "a1000000-0000-4000-8000-000000000003"]);
  });

  it("leaves a body's parent unknown without the skeleton, never a sibling of another", () => {
    const ex: Exchange = { url: "https://grok.com/rest/app-chat/conversations/4b8e2f10-6c3d-4a9e-9f21-0d7c5e3a8b62/load-responses",
      method: "POST", status: 200, responseText: JSON.stringify({ responses: [
        { responseId: "x1", sender: "human", message: "a" }, { responseId: "x2", sender: "assistant", message: "b" }] }) };
    assert.deepEqual(messages(grok.parse(ex, new Map())).map((m) => m.parentId), [undefined, undefined]);
  });

  it("keeps an error line quiet and codes a stream it cannot read", () => {
    const ex: Exchange = { url: "https://grok.com/rest/app-chat/conversations/new", method: "POST", status: 200,
      requestBody: "{}", responseText: JSON.stringify({ error: { code: 8, message: "too many requests" } }) + "\n" };
    assert.deepEqual(grok.parse(ex, new Map()), []);
    assert.deepEqual(drifts(observe(grok, "grok--drifted")).map((d) => d.code), ["no-parse", "unknown-shape"]);
  });
});

describe("Perplexity answer locations", () => {
  it("prefers ask_text and never doubles the answer", () => {
    const blocks = [{ intended_usage: "ask_text_0_markdown", markdown_block: { answer: "A" } },
      { intended_usage: "ask_text", markdown_block: { chunks: ["B", "C"] } }];
    assert.equal(answerOf({ blocks }), "BC");
  });

  it("unwraps a schematized answer, reads workflow steps and the old FINAL step", () => {
    assert.equal(answerOf({ blocks: [{ intended_usage: "ask_text", markdown_block: { answer: '{"answer":"S"}' } }] }), "S");
    assert.equal(answerOf({ blocks: [{ workflow_block: { steps: [{ items: [{ payload: { text_payload: { text: "W" } } }] }] } }] }), "W");
    assert.equal(answerOf({ text: JSON.stringify([{ step_type: "FINAL", content: { answer: '{"answer":"F"}' } }]) }), "F");
    assert.equal(answerOf({ text: JSON.stringify([{ step_type: "SEARCH_WEB" }]) }), undefined, "steps are not an answer");
  });

  it("reads every thread page the site offers, by next_cursor", () => {
    const obs = observe(perplexity, "perplexity--follow-up");
    assert.deepEqual(reconciles(obs).map((r) => r.url).at(-1),
      "https://www.perplexity.ai/rest/thread/9f3e1c20-5a7b-4c8d-9e0f-1a2b3c4d5e61?cursor=cursor-2");
  });
});

describe("Perplexity re-reads", () => {
  it("after an ask, reads the first page and every page the thread has offered (re-reads do not chain)", () => {
    const fx = JSON.parse(readFileSync(new URL("perplexity--follow-up.json", FIXTURES), "utf8")) as { exchanges: Exchange[] };
    const state: PageState = new Map();
    for (const ex of fx.exchanges) perplexity.parse(ex, state);
    const again = reconciles(perplexity.parse(fx.exchanges[1] as Exchange, state)).map((r) => r.url);
    const thread = "https://www.perplexity.ai/rest/thread/9f3e1c20-5a7b-4c8d-9e0f-1a2b3c4d5e61";
    assert.deepEqual(again, [thread, `${thread}?cursor=cursor-2`]);
  });
});

describe("Perplexity questions after a reload", () => {
  it("names a rewrite listed in the thread as the question it repeats, with no memory of the stream", () => {
    const fx = JSON.parse(readFileSync(new URL("perplexity--regeneration.json", FIXTURES), "utf8")) as { exchanges: Exchange[] };
    const streamed = new Map() as PageState;
    const live = fx.exchanges.slice(0, 2).flatMap((ex) => messages(perplexity.parse(ex, streamed)));
    const reloaded = messages(perplexity.parse(fx.exchanges[2] as Exchange, new Map()));
    const users = (ms: Msg[]) => [...new Set(ms.filter((m) => m.role === "user").map((m) => `${m.id} ${m.parentId}`))];
    assert.deepEqual(users(reloaded), users(live));
    assert.equal(users(live).length, 1, "one question, two answers");
    assert.deepEqual(reloaded.filter((m) => m.role === "ai").map((m) => m.parentId), [live[0]?.id, live[0]?.id]);
  });
});

describe("capabilities", () => {
  it("each adapter says how sure it is, and claims no account it cannot read", () => {
    for (const a of [gemini, deepseek, grok, perplexity]) {
      assert.ok(a.capabilities, a.id);
      assert.equal(a.capabilities?.identity, "none", `${a.id}: no identity endpoint is known`);
      assert.ok(a.version >= 2);
    }
    assert.equal(gemini.capabilities?.images, "public-capture");
    assert.equal(deepseek.capabilities?.images, "none");
  });
});
