import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Msg, Snapshot } from "../src/adapters/types.ts";
import { parseCommand } from "../src/adapters/midjourney.ts";
import { diffSnapshot, emptyMemory } from "../src/core/tracker.ts";

const snap = (messages: Msg[]): Snapshot => ({ sessionId: "s1", messages });
const user = (id: string, parentId?: string): Msg => ({ id, parentId, role: "user", text: `prompt ${id}`, complete: true });
const ai = (id: string, parentId: string, complete = true): Msg => ({ id, parentId, role: "ai", text: `answer ${id}`, complete });

describe("tracker", () => {
  it("records a half-streamed answer only once it is complete, and only once", () => {
    const first = diffSnapshot("chatgpt", "chatgpt@1", snap([user("u1"), ai("a1", "u1", false)]), emptyMemory());
    assert.deepEqual(first.drafts.map((d) => d.type), ["prompt"]);
    const second = diffSnapshot("chatgpt", "chatgpt@1", snap([user("u1"), ai("a1", "u1")]), first.memory);
    assert.deepEqual(second.drafts.map((d) => d.type), ["output"]);
    const third = diffSnapshot("chatgpt", "chatgpt@1", snap([user("u1"), ai("a1", "u1")]), second.memory);
    assert.equal(third.drafts.length, 0);
  });

  it("puts parents before children whatever order the site lists them in", () => {
    const { drafts } = diffSnapshot("claude", "claude@1", snap([ai("a1", "u1"), user("u1")]), emptyMemory());
    assert.deepEqual(drafts.map((d) => d.messageId), ["u1", "a1"]);
  });

  it("two first prompts without a parent are two prompts, not an edit", () => {
    const { drafts } = diffSnapshot("qwen", "qwen@1", snap([user("u1"), user("u2")]), emptyMemory());
    assert.deepEqual(drafts.map((d) => d.type), ["prompt", "prompt"]);
  });

  it("a new parameters step only when the settings change", () => {
    const p = (id: string, model: string, parentId?: string): Msg => ({ ...user(id, parentId), params: { model } });
    const { drafts } = diffSnapshot("chatgpt", "chatgpt@1",
      snap([p("u1", "gpt-4o"), ai("a1", "u1"), p("u2", "gpt-4o", "a1"), ai("a2", "u2"), p("u3", "o3", "a2")]), emptyMemory());
    assert.deepEqual(drafts.map((d) => d.type), ["parameters", "prompt", "output", "prompt", "output", "parameters", "prompt"]);
  });
});

describe("Midjourney command parsing", () => {
  it("splits the prompt from its parameters", () => {
    assert.deepEqual(parseCommand("a red fox, linocut --ar 3:2 --v 7 --seed 42 --tile --no text, logo"), {
      text: "a red fox, linocut",
      params: { aspect_ratio: "3:2", version: 7, seed: 42, tile: true, no: "text, logo" },
    });
  });
});
