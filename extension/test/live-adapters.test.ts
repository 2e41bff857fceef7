/**
 * What the ChatGPT and Claude adapters observe on the live formats, beyond the records the tracker
 * makes of it: stopped and awaited answers, acts, active leaves, identities, drift codes, and the
 * delta v1 grammar's corner cases.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DeltaDecoder } from "../src/adapters/chatgpt-delta.ts";
import { chatgpt } from "../src/adapters/chatgpt.ts";
import { claude } from "../src/adapters/claude.ts";
import type { Exchange, Msg, Observation, PageState, SiteAdapter, Snapshot } from "../src/adapters/types.ts";
import { parseHTML } from "linkedom";
import { FIXTURES } from "./harness.ts";

/** Every observation of a fixture's exchanges, through one page state. */
function observe(adapter: SiteAdapter, name: string): Observation[] {
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as { exchanges: Exchange[] };
  const state: PageState = new Map();
  return fx.exchanges.flatMap((ex) => adapter.parse(ex, state));
}

const snapshots = (obs: Observation[]): Snapshot[] =>
  obs.flatMap((o) => (o.kind === "snapshot" ? [o.snapshot] : []));
const messages = (obs: Observation[]): Msg[] => snapshots(obs).flatMap((s) => s.messages);
const drifts = (obs: Observation[]) => obs.flatMap((o) => (o.kind === "drift" ? [o] : []));

function feed(d: DeltaDecoder, frames: unknown[]): void {
  for (const f of frames) d.feed("delta", typeof f === "string" ? f : JSON.stringify(f));
}

describe("ChatGPT delta v1 grammar", () => {
  const start = { p: "", o: "add", v: { message: { id: "a", author: { role: "assistant" }, metadata: { parent_id: "u" },
    content: { content_type: "text", parts: [""] }, status: "in_progress" } } };

  it("keeps p and o sticky across bare {v} frames, and a batch neither reads nor moves them", () => {
    const d = new DeltaDecoder();
    feed(d, [start, { p: "/message/content/parts/0", o: "append", v: "one " },
      { p: "", o: "patch", v: [{ p: "/message/status", o: "replace", v: "x" }] }, { v: "two" }]);
    const msg = d.messages.get("a") as { content: { parts: string[] }; status: string };
    assert.equal(msg.content.parts[0], "one two");
    assert.equal(msg.status, "x");
  });

  it("merges an object append into metadata instead of replacing it", () => {
    const d = new DeltaDecoder();
    feed(d, [start, { p: "/message/metadata", o: "append", v: { resolved_model_slug: "gpt-5-4" } }]);
    assert.deepEqual(d.messages.get("a")?.metadata, { parent_id: "u", resolved_model_slug: "gpt-5-4" });
  });

  it("starts a new message from a bare {message} value, and counts unknown frames", () => {
    const d = new DeltaDecoder();
    feed(d, [{ v: { message: { id: "b", author: { role: "assistant" } } } }, { whatever: 1 }, { type: "new_kind" }]);
    assert.ok(d.messages.has("b"));
    assert.equal(d.unknown, 2);
  });

  it("takes an in-stream error as understood, and the answer stays unfinished", () => {
    const d = new DeltaDecoder();
    feed(d, [start, { p: "/message/content/parts/0", o: "append", v: "half" }, { type: "error", error: "rate limited" },
      "[DONE]"]);
    assert.equal(d.error, "rate limited");
    assert.equal(d.unknown, 0);
  });
});

describe("ChatGPT adapter on live formats", () => {
  it("records only the final answer, never the commentary, thinking or hidden messages", () => {
    const all = messages(observe(chatgpt, "chatgpt--new-chat"));
    const ai = all.filter((m) => m.role === "ai");
    assert.deepEqual([...new Set(ai.map((m) => m.id))], ["a0c1e2f3-0002-4000-8000-000000000012"]);
    assert.ok(ai.every((m) => m.parentId === "a0c1e2f3-0001-4000-8000-000000000011"));
    const thinking = messages(observe(chatgpt, "chatgpt--thinking-resume")).filter((m) => m.role === "ai");
    assert.deepEqual([...new Set(thinking.map((m) => m.id))], ["a0c1e2f3-0022-4000-8000-000000000092"]);
  });

  it("keeps the tree's root node as the first prompt's parent, in the stream and the tree alike", () => {
    const edit = messages(observe(chatgpt, "chatgpt--edit")).filter((m) => m.role === "user");
    assert.deepEqual(new Set(edit.map((m) => m.parentId)), new Set(["client-created-root"]));
  });

  it("names the act of a variant request, what a thinking or image prompt waits for, and a stopped answer", () => {
    const regen = messages(observe(chatgpt, "chatgpt--regeneration")).find((m) => m.role === "user" && m.act);
    assert.equal(regen?.act, "regenerate");
    const waits = messages(observe(chatgpt, "chatgpt--websocket")).find((m) => m.id.endsWith("101"));
    assert.equal(waits?.awaits, "thinking");
    const image = messages(observe(chatgpt, "chatgpt--image")).find((m) => m.role === "user");
    assert.equal(image?.awaits, "image");
    const stopped = messages(observe(chatgpt, "chatgpt--stopped")).find((m) => m.role === "ai");
    assert.equal(stopped?.stopped, true);
    assert.equal(stopped?.complete, true);
  });

  it("gives the answering model from resolved_model_slug and the requested settings as params", () => {
    const ai = messages(observe(chatgpt, "chatgpt--model-change")).filter((m) => m.role === "ai" && m.complete);
    assert.equal(ai[0]?.meta?.model, "gpt-5-4-auto-thinking");
    assert.equal(ai[0]?.params?.model, "auto");
  });

  it("re-reads the tree later when an image is due, and the active leaf is current_node", () => {
    const obs = observe(chatgpt, "chatgpt--image");
    const later = obs.find((o) => o.kind === "reconcile" && (o.delays?.length ?? 0) > 3);
    assert.ok(later, "a reconcile with long delays");
    const sel = snapshots(observe(chatgpt, "chatgpt--selection")).map((s) => s.currentId);
    assert.deepEqual(sel, ["a0c1e2f3-0009-4000-8000-000000000041", "a0c1e2f3-0002-4000-8000-000000000012"]);
  });

  it("reports the handoff leg as normal and an unknown stream as no-parse", () => {
    assert.deepEqual(drifts(observe(chatgpt, "chatgpt--thinking-resume")), []);
    assert.deepEqual(drifts(observe(chatgpt, "chatgpt--websocket")), []);
    assert.deepEqual(drifts(observe(chatgpt, "chatgpt--stream-drifted")).map((d) => d.code), ["no-parse"]);
    assert.deepEqual(drifts(observe(chatgpt, "chatgpt--drifted")).map((d) => d.code), ["unknown-shape"]);
  });

  it("names the site account from GET /backend-api/me, and asks for it", () => {
    const state: PageState = new Map();
    const obs = chatgpt.parse({ url: "https://chatgpt.com/backend-api/me", method: "GET", status: 200,
      responseText: JSON.stringify({ object: "user", id: "user-7Qx2Lm9Pz4Kd", name: "Ada Keeper", email: "a@example.org" }) }, state);
    assert.deepEqual(obs, [{ kind: "identity", identity: { id: "user-7Qx2Lm9Pz4Kd", name: "Ada Keeper", source: "GET /backend-api/me" } }]);
    assert.deepEqual(chatgpt.identityRequest?.("https://chatgpt.com"), { url: "https://chatgpt.com/backend-api/me", method: "GET" });
    const bad = chatgpt.parse({ url: "https://chatgpt.com/backend-api/me", method: "GET", status: 200, responseText: "{}" }, state);
    assert.equal(bad[0]?.kind === "drift" && bad[0].code, "unknown-shape");
  });

  it("counts turns by their wrapper, so an answer's narration and tool messages count once", () => {
    const { document } = parseHTML(`<main>
      <article data-testid="conversation-turn-1"><div data-message-author-role="user">Paint a harbour</div></article>
      <article data-testid="conversation-turn-2"><div data-message-author-role="assistant">Searching…</div>
        <div data-message-author-role="tool">image</div><div data-message-author-role="assistant">Here it is.</div></article>
    </main>`);
    const health = chatgpt.probeDom(document as unknown as Document, new URL("https://chatgpt.com/c/69a1c0de-7b2e-8001"));
    assert.equal(health.turns, 2);
  });

  it("keeps a re-sent prompt's parent when a variant names the prompt itself as the parent", () => {
    const fx = JSON.parse(readFileSync(new URL("chatgpt--regeneration.json", FIXTURES), "utf8")) as { exchanges: Exchange[] };
    const [tree, variant] = fx.exchanges as [Exchange, Exchange];
    const body = JSON.parse(variant.requestBody ?? "{}") as { parent_message_id: string; messages: { id: string }[] };
    const prompt = body.messages[0]?.id as string;
    body.parent_message_id = prompt;
    const state: PageState = new Map();
    chatgpt.parse(tree, state);
    const obs = chatgpt.parse({ ...variant, requestBody: JSON.stringify(body) }, state);
    const msgs = messages(obs);
    assert.equal(msgs.find((m) => m.id === prompt)?.parentId, "client-created-root");
    assert.ok(msgs.filter((m) => m.role === "ai").every((m) => m.parentId === prompt));
  });

  it("ignores the /prepare sibling and sockets it does not know", () => {
    const state: PageState = new Map();
    assert.deepEqual(chatgpt.parse({ url: "https://chatgpt.com/backend-api/f/conversation/prepare", method: "POST",
      status: 200, requestBody: "{}", responseText: "{}" }, state), []);
    assert.ok(!chatgpt.capture.some((re) => re.test("https://chatgpt.com/backend-api/f/conversation/prepare")));
    assert.deepEqual(chatgpt.parse({ url: "wss://ws.chatgpt.com/ws/user/x", method: "WS", status: 101,
      responseText: "[{\"type\":\"pong\"}]" }, state), []);
  });
});

describe("Claude adapter on live formats", () => {
  it("takes each answer's model from its request, not the tree's current setting", () => {
    const ai = messages(observe(claude, "claude--model-change")).filter((m) => m.role === "ai");
    assert.deepEqual(ai.map((m) => m.meta?.model), ["claude-sonnet-4-6", "claude-opus-4-8"]);
    const history = messages(observe(claude, "claude--follow-up")).filter((m) => m.role === "ai" && m.id.endsWith("2"));
    assert.ok(history.every((m) => m.meta?.model === undefined && m.meta?.conversation_model === "claude-opus-4-8"));
  });

  it("keeps the root sentinel, marks a stream without message_stop unfinished and the saved cut answer stopped", () => {
    const first = messages(observe(claude, "claude--edit")).filter((m) => m.role === "user");
    assert.deepEqual(new Set(first.map((m) => m.parentId)), new Set(["00000000-0000-4000-8000-000000000000"]));
    const obs = observe(claude, "claude--stopped");
    const streamed = snapshots(obs).flatMap((s) => s.messages).find((m) => m.role === "ai");
    assert.equal(streamed?.complete, false);
    assert.ok(obs.some((o) => o.kind === "reconcile" && (o.delays?.length ?? 0) > 1));
  });

  it("records a branch choice's leaf from the PUT as the active leaf", () => {
    const obs = observe(claude, "claude--selection");
    assert.deepEqual(snapshots(obs).map((s) => s.currentId),
      ["11111111-0000-4000-8000-000000000007", "11111111-0000-4000-8000-000000000002"]);
  });

  it("names the site account from the account and bootstrap calls", () => {
    const state: PageState = new Map();
    const account = { uuid: "5e1f0c2a-0000-4000-8000-000000000abc", full_name: "Ada Keeper", display_name: "Ada" };
    const direct = claude.parse({ url: "https://claude.ai/api/account", method: "GET", status: 200,
      responseText: JSON.stringify(account) }, state);
    assert.deepEqual(direct, [{ kind: "identity", identity: { id: account.uuid, name: "Ada", source: "GET /api/account" } }]);
    const boot = claude.parse({ url: `https://claude.ai/api/bootstrap/${account.uuid}/app_start?growthbook_format=sdk`,
      method: "GET", status: 200, responseText: JSON.stringify({ account }) }, state);
    assert.equal(boot[0]?.kind === "identity" && boot[0].identity.id, account.uuid);
    const signedOut = claude.parse({ url: "https://claude.ai/api/bootstrap", method: "GET", status: 200,
      responseText: JSON.stringify({ account: null }) }, state);
    assert.deepEqual(signedOut, []);
  });

  it("reports an unknown stream as no-parse", () => {
    assert.deepEqual(drifts(observe(claude, "claude--stream-drifted")).map((d) => d.code), ["no-parse"]);
    assert.deepEqual(drifts(observe(claude, "claude--new-chat")), []);
  });
});

describe("capabilities", () => {
  it("are declared for both adapters, images only where the site makes them", () => {
    assert.equal(chatgpt.capabilities?.images, "public-capture");
    assert.equal(claude.capabilities?.images, "none");
    assert.ok(chatgpt.captureWs?.some((re) => re.test("wss://ws.chatgpt.com/ws/user/user-1")));
  });
});
