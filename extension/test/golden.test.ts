import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { describe, it } from "node:test";
import { ADAPTERS } from "../src/adapters/registry.ts";
import { canonicalize } from "../src/core/jcs.ts";
import { digestBytes } from "../src/core/digest.ts";
import { EXPECTED, FIXTURES, runFixture } from "./harness.ts";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const names = readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();

describe("golden fixtures: recorded site traffic -> expected records", () => {
  for (const name of names) {
    it(name, async () => {
      const outcome = await runFixture(name);
      const actual = JSON.stringify(outcome, null, 1) + "\n";
      const path = new URL(`${name}.json`, EXPECTED);
      if (UPDATE) {
        mkdirSync(EXPECTED, { recursive: true });
        writeFileSync(path, actual);
      }
      assert.equal(actual, readFileSync(path, "utf8"));
    });
  }

  it("every adapter has fixtures for a conversation and for drift", () => {
    for (const a of ADAPTERS) {
      const mine = names.filter((n) => n.startsWith(`${a.id}--`));
      assert.ok(mine.some((n) => n.endsWith("--drifted")), `${a.id} has no drifted fixture`);
      assert.ok(mine.length >= 2, `${a.id} has only ${mine.length} fixtures`);
    }
  });

  it("each site has its cases: follow-up, regeneration, edit, images, streaming where its traffic shows them", () => {
    // Sites whose traffic carries no parent ids (Perplexity, Doubao) cannot show a branch; Gemini's
    // StreamGenerate answer does not say which earlier turn an edited prompt replaces.
    const cases: { [site: string]: string[] } = {
      chatgpt: ["new-chat", "follow-up", "regeneration", "edit", "model-change", "image", "image-late", "streaming",
        "stopped", "thinking-resume", "websocket", "selection", "stream-error", "stream-drifted", "drifted"],
      claude: ["new-chat", "follow-up", "regeneration", "edit", "model-change", "streaming", "stopped", "selection",
        "stream-error", "stream-drifted", "drifted"],
      gemini: ["streaming", "follow-up", "edit", "regeneration", "model-change", "image", "image-grid", "long-answer", "stopped", "drifted"],
      deepseek: ["streaming", "follow-up", "edit", "regeneration", "model-change", "long-answer", "stopped", "drifted"],
      midjourney: ["turn", "edit", "regenerate", "model-change", "image", "video", "streaming", "stopped", "drifted"],
      grok: ["streaming", "follow-up", "edit", "regeneration", "model-change", "image", "long-answer", "stopped", "drifted"],
      perplexity: ["streaming", "follow-up", "regeneration", "model-change", "legacy-steps", "long-answer", "stopped", "drifted"],
      doubao: ["turn", "edit", "regenerate", "model-change", "image", "streaming", "stopped", "drifted"],
      // Kimi: no image generation and no model field in the traffic.
      kimi: ["turn", "edit", "regenerate", "streaming", "stopped", "drifted"],
      qwen: ["turn", "edit", "regenerate", "model-change", "image", "streaming", "stopped", "drifted"],
    };
    for (const a of ADAPTERS) {
      for (const c of cases[a.id] ?? ["drifted"]) assert.ok(names.includes(`${a.id}--${c}`), `${a.id} has no ${c} fixture`);
    }
  });

  it("streaming cases record no answer while it is still being written, and the finished one once", async () => {
    for (const name of names.filter((n) => n.endsWith("--streaming"))) {
      const early = await runFixture(name, 1);
      assert.ok(early.records.every((r) => r.type !== "output"), `${name}: an output before the answer was complete`);
      const all = await runFixture(name);
      const outputs = all.records.filter((r) => r.type === "output").map((r) => r.refs?.message_id);
      assert.equal(new Set(outputs).size, outputs.length, `${name}: an answer recorded twice`);
    }
  });

  it("each fixture's records form an unbroken chain per session", async () => {
    for (const name of names) {
      const { records } = await runFixture(name);
      const last = new Map<string, { seq: number; digest: string }>();
      for (const r of records) {
        const key = `${r.session.site}/${r.session.id}`;
        const prev = last.get(key);
        assert.equal(r.seq, (prev?.seq ?? 0) + 1, `${name}: seq`);
        assert.equal(r.prev, prev?.digest ?? null, `${name}: prev`);
        last.set(key, { seq: r.seq, digest: await digestBytes(canonicalize(r)) });
      }
    }
  });

  it("drifted pages record nothing and say why", async () => {
    for (const name of names.filter((n) => n.endsWith("--drifted"))) {
      const outcome = await runFixture(name);
      assert.equal(outcome.records.length, 0, name);
      assert.ok(outcome.drift.length > 0 || outcome.dom?.state === "drift", name);
    }
  });
});
