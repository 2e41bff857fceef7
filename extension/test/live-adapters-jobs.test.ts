/**
 * What the Midjourney, Doubao, Kimi and Qwen adapters observe on the live formats, beyond the records
 * the tracker makes of it: acts and what they await, parents from request options, stopped answers,
 * re-reads (GET or POST, with delays), identities and drift codes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { doubao } from "../src/adapters/doubao.ts";
import { kimi } from "../src/adapters/kimi.ts";
import { midjourney } from "../src/adapters/midjourney.ts";
import { qwen } from "../src/adapters/qwen.ts";
import type { Exchange, Msg, Observation, PageState, SiteAdapter } from "../src/adapters/types.ts";
import { FIXTURES } from "./harness.ts";

function observe(adapter: SiteAdapter, name: string, state: PageState = new Map()): Observation[] {
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as { exchanges: Exchange[] };
  return fx.exchanges.flatMap((ex) => adapter.parse(ex, state));
}
const messages = (obs: Observation[]): Msg[] => obs.flatMap((o) => (o.kind === "snapshot" ? o.snapshot.messages : []));
const byId = (obs: Observation[], id: string): Msg | undefined => messages(obs).find((m) => m.id === id);
const rereads = (obs: Observation[]) => obs.flatMap((o) => (o.kind === "reconcile" ? [o] : []));
const drifts = (obs: Observation[]) => obs.flatMap((o) => (o.kind === "drift" ? [o] : []));

const MJ = "https://www.midjourney.com/api/submit-jobs";
const PARENT = "5e0c9a41-7d2b-4f6e-9a13-000000000001";
const CHILD = "5e0c9a41-7d2b-4f6e-9a13-000000000099";

function submit(body: object, answer: object = { success: [{ job_id: CHILD, prompt: "a fox --v 7", meta: { parent_id: PARENT } }],
  failure: [] }): Exchange {
  return { url: MJ, method: "POST", status: 200, requestBody: JSON.stringify({ channelId: "singleplayer_u1", ...body }),
    responseText: JSON.stringify(answer) };
}

describe("Midjourney acts", () => {
  const userStep = (body: object): Msg | undefined => byId(midjourney.parse(submit(body), new Map()), `${CHILD}:prompt`);

  it("maps each job type to the act it is, under the parent job's output, naming the grid image", () => {
    assert.deepEqual([userStep({ t: "vary", id: PARENT, index: 2 })?.act, userStep({ t: "upscale", id: PARENT, index: 1 })?.act,
      userStep({ t: "remix", id: PARENT, index: 0, newPrompt: "a fox at night --v 7" })?.act,
      userStep({ t: "pan", id: PARENT, index: 0, direction: 1, newPrompt: "" })?.act,
      userStep({ t: "video", newPrompt: "waves --video 1", parentJob: { job_id: PARENT, image_num: 3 } })?.act],
    ["regenerate", "selection", "edit", "regenerate", "prompt"]);
    const vary = userStep({ t: "vary", id: PARENT, index: 2 });
    assert.equal(vary?.parentId, `${PARENT}:output`);
    assert.equal(vary?.refs?.image_index, "2");
    const video = userStep({ t: "video", newPrompt: "waves --bs 2 --video 1", parentJob: { job_id: PARENT, image_num: 3 } });
    assert.equal(video?.awaits, "video");
    assert.equal(video?.refs?.image_index, "3");
    assert.equal(video?.params?.batch_size, 2);
  });

  it("re-reads the job list with delays for jobs that finish minutes later, and names the account once", () => {
    const state: PageState = new Map();
    const first = midjourney.parse(submit({ t: "imagine", prompt: "a fox --v 7" }), state);
    const again = midjourney.parse(submit({ t: "vary", id: PARENT, index: 0 }), state);
    const [read] = rereads(first);
    assert.equal(read?.url, "https://www.midjourney.com/api/imagine?user_id=u1&page_size=100");
    assert.equal(read?.method, "GET");
    assert.ok((read?.delays ?? []).some((d) => d >= 120000), "minutes, not seconds");
    assert.deepEqual(first.filter((o) => o.kind === "identity").length + again.filter((o) => o.kind === "identity").length, 1);
  });

  it("records a refusal as the site said it, without drift; an unknown answer is unknown-shape drift", () => {
    const refused = midjourney.parse(submit({ t: "imagine", prompt: "x" }, { success: [], failure: [{ message: "Queue full" }] }),
      new Map());
    assert.equal(drifts(refused).length, 0);
    assert.equal(messages(refused).find((m) => m.role === "ai")?.meta?.failure, "Queue full");
    const odd = midjourney.parse(submit({ t: "imagine", prompt: "x" }, { ok: true }), new Map());
    assert.equal(drifts(odd)[0]?.code, "unknown-shape");
  });

  it("says nothing on socket keep-alives and re-reads the list when a frame names a finished job", () => {
    const state: PageState = new Map();
    midjourney.parse(submit({ t: "imagine", prompt: "a fox" }), state);
    const ws = (frame: unknown): Exchange => ({ url: "wss://ws.midjourney.com/ws", method: "WS", status: 101,
      responseText: typeof frame === "string" ? frame : JSON.stringify(frame) });
    assert.deepEqual(midjourney.parse(ws({ type: "ping" }), state), []);
    assert.deepEqual(midjourney.parse(ws("binary-ish"), state), []);
    assert.equal(rereads(midjourney.parse(ws({ job_id: CHILD, current_status: "completed" }), state)).length, 1);
  });

  it("marks a cancelled job's output stopped and fetches an upscale's one original", () => {
    const stopped = observe(midjourney, "midjourney--stopped");
    assert.equal(byId(stopped, "5e0c9a41-7d2b-4f6e-9a13-000000000013:output")?.stopped, true);
    const image = observe(midjourney, "midjourney--image");
    assert.deepEqual(byId(image, "5e0c9a41-7d2b-4f6e-9a13-000000000010:output")?.images?.map((i) => i.url),
      ["https://cdn.midjourney.com/5e0c9a41-7d2b-4f6e-9a13-000000000010/0_0.png"]);
  });
});

describe("Qwen stream and saved chat", () => {
  it("takes only the answer phase, completes on its finished delta, and re-reads the saved chat", () => {
    const obs = observe(qwen, "qwen--turn");
    const answer = byId(obs, "b1000000-0000-4000-8000-000000000002");
    assert.ok(answer?.text?.startsWith("Small worlds"));
    assert.ok(!answer?.text?.includes("Five, seven"), "no thinking");
    assert.equal(answer?.stopped, undefined);
    assert.equal(byId(obs, "b1000000-0000-4000-8000-000000000001")?.awaits, "thinking");
    assert.equal(rereads(obs)[0]?.url, "https://chat.qwen.ai/api/v2/chats/7c1e2d3f-4a5b-4c6d-8e9f-000000000001?direction=up&limit=10");
  });

  it("marks a stream that ends without the finished delta stopped, and reads currentId from the saved chat", () => {
    assert.equal(byId(observe(qwen, "qwen--stopped"), "b7000000-0000-4000-8000-000000000002")?.stopped, true);
    const saved = observe(qwen, "qwen--regenerate").flatMap((o) => (o.kind === "snapshot" && o.snapshot.source === "history"
      ? [o.snapshot.currentId] : []));
    assert.equal(saved[saved.length - 1], "b3000000-0000-4000-8000-000000000003");
  });

  it("keeps the last snapshot of a cumulative stream, and records an error in the stream as the answer's error", () => {
    const url = "https://chat.qwen.ai/api/v2/chat/completions?chat_id=7c1e2d3f-4a5b-4c6d-8e9f-000000000077";
    const body = (incremental: boolean) => JSON.stringify({ incremental_output: incremental, model: "qwen3-max",
      messages: [{ fid: "u1", parentId: null, content: "hi", chat_type: "t2t" }] });
    const frame = (d: object) => `data: ${JSON.stringify(d)}\n\n`;
    const created = frame({ "response.created": { chat_id: "c", parent_id: "u1", response_id: "a1" } });
    const delta = (content: string, status = "typing") => frame({ choices: [{ delta: { content, phase: "answer", status } }] });
    const cumulative = qwen.parse({ url, method: "POST", status: 200, requestBody: body(false),
      responseText: created + delta("Hel") + delta("Hello") + delta("Hello!", "finished") }, new Map());
    assert.equal(byId(cumulative, "a1")?.text, "Hello!");
    const failed = qwen.parse({ url, method: "POST", status: 200, requestBody: body(true),
      responseText: created + delta("Hel") + frame({ error: { code: "Internal_Error", details: "quota" } }) }, new Map());
    assert.equal(drifts(failed).length, 0);
    assert.equal(byId(failed, "a1")?.meta?.error, "quota");
    assert.equal(drifts(observe(qwen, "qwen--drifted"))[0]?.code, "no-parse");
    assert.equal(drifts(observe(qwen, "qwen--drifted"))[1]?.code, "unknown-shape");
  });
});

describe("Doubao events and request options", () => {
  it("keeps the last version of a media block and the original by priority", () => {
    const answer = byId(observe(doubao, "doubao--image"), "9402");
    assert.deepEqual(answer?.images?.map((i) => new URL(i.url).pathname),
      ["/ocean-cloud-tos/logo-a.png~tplv-raw.png", "/ocean-cloud-tos/logo-b.png~tplv-raw.png"]);
  });

  it("takes parents from is_regen/regen_query_id and edit_query_id, and marks an answer without FULL_MSG_NOTIFY stopped", () => {
    const regen = observe(doubao, "doubao--regenerate");
    assert.equal(byId(regen, "9203")?.parentId, "9201");
    assert.equal(messages(regen).filter((m) => m.role === "user").length, 1, "a retry is no new prompt");
    const edit = byId(observe(doubao, "doubao--edit"), "9103");
    assert.equal(edit?.act, "edit");
    assert.equal(edit?.refs?.edit_query_id, "9101");
    assert.equal(byId(observe(doubao, "doubao--stopped"), "9602")?.stopped, true);
  });

  it("re-reads the chain by POST, reusing the page's own request body for the conversation", () => {
    const obs = observe(doubao, "doubao--streaming");
    const [read] = rereads(obs);
    assert.equal(read?.method, "POST");
    assert.equal(read?.url, "https://www.doubao.com/im/chain/single");
    assert.match(read?.body ?? "", /"conversation_id":"7432109876540006"/);
    assert.deepEqual(drifts(observe(doubao, "doubao--drifted")).map((d) => d.code), ["no-parse", "unknown-shape"]);
  });
});

describe("Kimi turn calls and pages", () => {
  it("re-reads ListMessages by POST after a turn call, but not after its own List or Get reads", () => {
    const [read] = rereads(observe(kimi, "kimi--turn"));
    assert.equal(read?.url, "https://www.kimi.com/apiv2/kimi.gateway.chat.v1.ChatService/ListMessages");
    assert.deepEqual(JSON.parse(read?.body ?? "{}"), { chat_id: "d4k1m1c01-chat-2026", page_size: 100 });
    const get: Exchange = { url: "https://www.kimi.com/apiv2/kimi.gateway.chat.v1.ChatService/GetChat", method: "POST",
      status: 200, requestBody: '{"chat_id":"d4k1m1c01-chat-2026"}', responseText: "{}" };
    assert.deepEqual(kimi.parse(get, new Map()), []);
  });

  it("asks for the next page while one is left, and keeps think blocks out of the answer", () => {
    const state: PageState = new Map();
    const obs = observe(kimi, "kimi--streaming", state);
    assert.equal(JSON.parse(rereads(obs)[0]?.body ?? "{}").page_token, "tok-2");
    const list: Exchange = { url: "https://www.kimi.com/apiv2/kimi.chat.v1.ChatService/ListMessages", method: "POST",
      status: 200, requestBody: '{"chat_id":"d4k1m1c09-chat-2026","page_size":50}', responseText: JSON.stringify({ messages: [
        { id: "a", parentId: "q", role: "assistant", status: "MESSAGE_STATUS_COMPLETED",
          blocks: [{ think: { content: "Recall estuaries" } }, { text: { content: "A river wave." } }] },
        { id: "q", role: "user", blocks: [{ text: { content: "What is a tidal bore?" } }] }] }) };
    const seen = kimi.parse(list, new Map());
    assert.equal(byId(seen, "a")?.text, "A river wave.");
    assert.equal(byId(seen, "q")?.parentId, "(root)");
    assert.equal(drifts(observe(kimi, "kimi--drifted"))[0]?.code, "unknown-shape");
  });
});
