import { freshIndexedDb, local } from "./fakes.ts";
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { Snapshot } from "../src/adapters/types.ts";
import { byIndex, resetDbForTests, sessionKey, type OutboxItem } from "../src/background/db.ts";
import type { StampRecord } from "../src/core/record.ts";

/** The toolbar button and the open tabs, as the background sees them. */
const badges = new Map<number, string>();
let openTabs: { id: number; url: string }[] = [];
const browserApi = (globalThis as unknown as { chrome: { [k: string]: unknown } }).chrome;
browserApi.action = {
  setBadgeText: async ({ tabId, text }: { tabId: number; text: string }) => void badges.set(tabId, text),
  setBadgeBackgroundColor: async () => undefined,
  setTitle: async () => undefined,
};
browserApi.tabs = { query: async () => openTabs.map((t) => ({ ...t })) };

const { recordSnapshot } = await import("../src/background/recorder.ts");
const { adapterDrift, checkWatch, watchRecorded } = await import("../src/background/watch.ts");

const SID = "0c0ffee0-0000-4000-8000-00000000beef";
const PAGE = `https://chatgpt.com/c/${SID}`;
const TAB = 7;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function records(): Promise<StampRecord[]> {
  const items = await byIndex<OutboxItem>("outbox", "session", sessionKey("chatgpt", SID));
  return items.map((i) => i.envelope.record).sort((a, b) => a.seq - b.seq);
}

async function prompt(id: string): Promise<void> {
  const snap: Snapshot = { sessionId: SID, url: PAGE, messages: [{ id, role: "user", text: `prompt ${id}`, complete: true }] };
  const drafts = await recordSnapshot("chatgpt", snap, {}, "https://chatgpt.com");
  await watchRecorded("chatgpt", SID, drafts, TAB, PAGE);
}

describe("capture gaps in the background", () => {
  beforeEach(() => {
    freshIndexedDb();
    resetDbForTests();
    local.clear();
    badges.clear();
    openTabs = [{ id: TAB, url: PAGE }];
    local.set("watchTimings", { noAnswerMs: { text: 30 }, revisitGraceMs: 30 });
  });

  it("a prompt without an answer becomes one drift record in the session's chain and a badge", async () => {
    await prompt("u1");
    await sleep(60);
    await checkWatch();
    await checkWatch();
    const got = await records();
    assert.deepEqual(got.map((r) => r.type), ["prompt", "drift"]);
    const drift = got[1];
    assert.equal(drift?.params?.code, "no-answer");
    assert.equal(drift?.params?.adapter?.toString().startsWith("chatgpt@"), true);
    assert.equal(drift?.refs?.message_id, "u1");
    assert.equal(drift?.prev !== null && drift?.seq, 2, "chained after the prompt");
    assert.equal(badges.get(TAB), "!");
  });

  it("waits while no tab shows the conversation, and alarms after it is shown again without an answer", async () => {
    await prompt("u1");
    openTabs = [];
    await sleep(60);
    await checkWatch();
    assert.deepEqual((await records()).map((r) => r.type), ["prompt"]);
    openTabs = [{ id: TAB, url: PAGE }];
    await watchRecorded("chatgpt", SID, [], TAB, PAGE); // the conversation is read again, no answer in it
    await sleep(60);
    await checkWatch();
    assert.deepEqual((await records()).map((r) => r.type), ["prompt", "drift"]);
  });

  it("an answer in time raises nothing", async () => {
    await prompt("u1");
    const snap: Snapshot = { sessionId: SID, messages: [
      { id: "u1", role: "user", text: "prompt u1", complete: true },
      { id: "a1", parentId: "u1", role: "ai", text: "answer", complete: true }] };
    await watchRecorded("chatgpt", SID, await recordSnapshot("chatgpt", snap, {}, "https://chatgpt.com"), TAB, PAGE);
    await sleep(60);
    await checkWatch();
    assert.deepEqual((await records()).map((r) => r.type), ["prompt", "output"]);
    assert.equal(badges.get(TAB), undefined);
  });

  it("an adapter's drift is recorded once per page, conversation, code and reason", async () => {
    await prompt("u1");
    await adapterDrift("chatgpt", TAB, PAGE, "conversation: expected mapping", "unknown-shape");
    await adapterDrift("chatgpt", TAB, PAGE, "conversation: expected mapping", "unknown-shape");
    await adapterDrift("chatgpt", TAB, PAGE, "stream: nothing readable", "no-parse");
    const drift = (await records()).filter((r) => r.type === "drift");
    assert.deepEqual(drift.map((r) => r.params?.code), ["unknown-shape", "no-parse"]);
    assert.match(drift[0]?.text ?? "", /expected mapping/);
  });
});
