import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ROOT_PARENT, type Msg, type Snapshot } from "../src/adapters/types.ts";
import { parseCommand } from "../src/adapters/midjourney.ts";
import { diffSnapshot, emptyMemory, identityDraft, type SessionMemory } from "../src/core/tracker.ts";
import type { Draft } from "../src/core/record.ts";

const snap = (messages: Msg[], extra: Partial<Snapshot> = {}): Snapshot => ({ sessionId: "s1", messages, ...extra });
const user = (id: string, parentId?: string, extra: Partial<Msg> = {}): Msg =>
  ({ id, parentId, role: "user", text: `prompt ${id}`, complete: true, ...extra });
const ai = (id: string, parentId: string | undefined, extra: Partial<Msg> = {}): Msg =>
  ({ id, parentId, role: "ai", text: `answer ${id}`, complete: true, ...extra });

let counter = 0;
const ids = () => `R${String(++counter).padStart(4, "0")}`;

/** Feed snapshots one after the other, as a page would; answers every draft and the final memory. */
function run(...snaps: Snapshot[]): { drafts: Draft[]; memory: SessionMemory; steps: Draft[][] } {
  let memory = emptyMemory();
  const steps: Draft[][] = [];
  for (const s of snaps) {
    const out = diffSnapshot("chatgpt", "chatgpt@2", s, memory, { ids });
    steps.push(out.drafts);
    memory = out.memory;
  }
  return { drafts: steps.flat(), memory, steps };
}
const types = (ds: Draft[]) => ds.map((d) => d.type);

describe("tracker: prompts, edits, regenerations", () => {
  it("records a half-streamed answer only once it is complete, and only once", () => {
    const { steps } = run(snap([user("u1"), ai("a1", "u1", { complete: false })]), snap([user("u1"), ai("a1", "u1")]),
      snap([user("u1"), ai("a1", "u1")]));
    assert.deepEqual(steps.map(types), [["prompt"], ["output"], []]);
  });

  it("puts parents before children whatever order the site lists them in", () => {
    const { drafts } = run(snap([ai("a1", "u1"), user("u1")]));
    assert.deepEqual(drafts.map((d) => d.messageId), ["u1", "a1"]);
  });

  it("two first prompts whose parents are unknown are two prompts, not an edit", () => {
    assert.deepEqual(types(run(snap([user("u1"), user("u2")])).drafts), ["prompt", "prompt"]);
  });

  it("an edit of the first prompt under ROOT_PARENT is an edit naming the edited prompt", () => {
    const { drafts } = run(snap([user("u1", ROOT_PARENT), ai("a1", "u1")]), snap([user("u2", ROOT_PARENT)]));
    assert.deepEqual(types(drafts), ["prompt", "output", "edit"]);
    assert.equal(drafts[2]?.refs?.edited_message_id, "u1");
  });

  it("an edit of the first prompt under a site's own root sentinel is an edit", () => {
    const root = "00000000-0000-4000-8000-000000000000";
    const { drafts } = run(snap([user("u1", root), ai("a1", "u1"), user("u2", root)]));
    assert.deepEqual(types(drafts), ["prompt", "output", "edit"]);
    assert.equal(drafts[2]?.refs?.edited_message_id, "u1");
  });

  it("an edit of a later prompt names the latest earlier sibling", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1"), user("u2", "a1"), user("u3", "a1"), user("u4", "a1")]));
    assert.deepEqual(types(drafts), ["prompt", "output", "prompt", "edit", "edit"]);
    assert.equal(drafts[4]?.refs?.edited_message_id, "u3");
  });

  it("a retry is a regenerate step before the new output, naming the replaced answer", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1")]), snap([user("u1"), ai("a1", "u1"), ai("a2", "u1")]));
    assert.deepEqual(types(drafts), ["prompt", "output", "regenerate", "output"]);
    assert.equal(drafts[2]?.refs?.replaced_message_id, "a1");
    assert.equal(drafts[2]?.actor, "user");
  });

  it("answers whose parents are unknown are never regenerations of each other", () => {
    assert.deepEqual(types(run(snap([ai("a1", undefined), ai("a2", undefined)])).drafts), ["output", "output"]);
  });

  it("the site's named act overrides the tree shape", () => {
    const { drafts } = run(snap([user("u1", ROOT_PARENT), ai("a1", "u1"),
      user("u2", ROOT_PARENT, { act: "prompt" }), user("u3", "a1", { act: "edit" }), user("u4", "a1", { act: "selection" })]));
    assert.deepEqual(types(drafts), ["prompt", "output", "prompt", "edit", "selection"]);
    assert.equal(drafts[3]?.refs?.edited_message_id, undefined, "no earlier sibling to name");
  });
});

describe("tracker: parameters", () => {
  const p = (id: string, model: string, parentId?: string): Msg => user(id, parentId, { params: { model } });

  it("a new parameters step only when the settings change", () => {
    const { drafts } = run(snap([p("u1", "gpt-4o"), ai("a1", "u1"), p("u2", "gpt-4o", "a1"), ai("a2", "u2"), p("u3", "o3", "a2")]));
    assert.deepEqual(types(drafts), ["parameters", "prompt", "output", "prompt", "output", "parameters", "prompt"]);
  });

  it("a retry with other settings records them before the regenerate step", () => {
    const { drafts } = run(snap([p("u1", "gpt-4o"), ai("a1", "u1", { params: { model: "gpt-4o" } })]),
      snap([ai("a2", "u1", { params: { model: "o3" } })]));
    assert.deepEqual(types(drafts), ["parameters", "prompt", "output", "parameters", "regenerate", "output"]);
    assert.deepEqual(drafts[3]?.params, { model: "o3" });
    assert.equal(drafts[3]?.refs?.message_id, "a2");
  });
});

describe("tracker: superseding a partial sighting", () => {
  it("a longer text later is a new output naming the earlier record; never an edit of the sent one", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1", { text: "Hello" })], { source: "stream" }),
      snap([user("u1"), ai("a1", "u1", { text: "Hello, world" })], { source: "history" }));
    assert.deepEqual(types(drafts), ["prompt", "output", "output"]);
    assert.equal(drafts[2]?.refs?.supersedes, drafts[1]?.id);
    assert.equal(drafts[2]?.text, "Hello, world");
    assert.equal(drafts[1]?.text, "Hello");
  });

  it("nothing is re-recorded when a later sighting adds nothing, or shows less", () => {
    const full = ai("a1", "u1", { text: "Hello, world", meta: { model: "gpt-4o" }, images: [{ url: "https://x/1.png" }] });
    const { steps } = run(snap([user("u1"), full]), snap([user("u1"), full]),
      snap([user("u1"), ai("a1", "u1", { text: "Hello" })]), snap([user("u1", undefined), ai("a1", undefined, { text: "" })]));
    assert.deepEqual(steps.map(types), [["prompt", "output"], [], [], []]);
  });

  it("a model, a parent, more images or a finish where there were none each supersede once", () => {
    const base = { text: "t" };
    const { drafts, steps } = run(
      snap([ai("a1", undefined, { ...base, stopped: true })]),
      snap([ai("a1", undefined, { ...base, stopped: true, meta: { model: "m" } })]),
      snap([ai("a1", "u1", { ...base, meta: { model: "m" } })]),
      snap([ai("a1", "u1", { ...base, images: [{ url: "https://x/1.png" }] })]),
      snap([ai("a1", "u1", { ...base, stopped: false })]),
      snap([ai("a1", "u1", { ...base, stopped: false })]),
    );
    assert.deepEqual(steps.map(types), [["output"], ["output"], ["output"], ["output"], ["output"], []]);
    assert.deepEqual(drafts.map((d) => d.refs?.supersedes_adds), [undefined, "model", "parent", "images", "finished"]);
    for (let i = 1; i < drafts.length; i++) assert.equal(drafts[i]?.refs?.supersedes, drafts[i - 1]?.id);
  });

  it("a prompt seen first without its parent is superseded, keeping its type", () => {
    const { drafts } = run(snap([user("u1", ROOT_PARENT), ai("a1", "u1")]), snap([user("u2", undefined, { text: "x" })]),
      snap([user("u2", ROOT_PARENT, { text: "x" })]));
    assert.deepEqual(types(drafts), ["prompt", "output", "prompt", "prompt"]);
    assert.equal(drafts[3]?.refs?.supersedes, drafts[2]?.id);
  });

  it("memories from before record ids were kept are never superseded", () => {
    const old: SessionMemory = { messages: { a1: { role: "ai", parentId: "u1" } } };
    const out = diffSnapshot("chatgpt", "chatgpt@2", snap([ai("a1", "u1", { text: "much longer now" })]), old, { ids });
    assert.equal(out.drafts.length, 0);
  });
});

describe("tracker: stopped answers", () => {
  it("are recorded as they stand and marked stopped", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1", { stopped: true, meta: { model: "m" } })]));
    assert.deepEqual(drafts[1]?.params, { model: "m", stopped: true });
  });
});

describe("tracker: selection from the site's active leaf", () => {
  it("the leaf the page opened on, and the newest answer, are no selection", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1")], { currentId: "a1" }),
      snap([user("u1"), ai("a1", "u1"), ai("a2", "u1")], { currentId: "a2" }));
    assert.deepEqual(types(drafts), ["prompt", "output", "regenerate", "output"]);
  });

  it("moving back to an earlier answer is a selection naming its record; moving on again is one too", () => {
    const tree = [user("u1"), ai("a1", "u1"), ai("a2", "u1")];
    const { drafts, steps } = run(snap(tree, { currentId: "a2" }), snap(tree, { currentId: "a1" }),
      snap(tree, { currentId: "a1" }), snap(tree, { currentId: "a2" }));
    assert.deepEqual(steps.map(types), [["prompt", "output", "regenerate", "output"], ["selection"], [], ["selection"]]);
    const a1 = drafts.find((d) => d.messageId === "a1");
    assert.equal(steps[1]?.[0]?.refs?.selected_record, a1?.id);
    assert.equal(steps[1]?.[0]?.refs?.message_id, "a1");
    assert.equal(steps[1]?.[0]?.actor, "user");
  });

  it("a whole-tree read older than the leaf already known (it lacks it) is no selection, and no way back either", () => {
    const old = [user("u1"), ai("a1", "u1")];
    const now = [...old, ai("a2", "u1")];
    const { steps } = run(snap(old, { currentId: "a1", treeIds: ["u1", "a1"] }),
      snap([user("u1"), ai("a2", "u1")], { currentId: "a2", source: "stream" }),
      snap(old, { currentId: "a1", treeIds: ["u1", "a1"] }), // answered before a2 was saved, handled after
      snap(now, { currentId: "a2", treeIds: ["u1", "a1", "a2"] }));
    assert.deepEqual(steps.map(types), [["prompt", "output"], ["regenerate", "output"], [], []]);
  });

  it("a whole-tree read that holds the known leaf and shows another is the user's selection", () => {
    const tree = [user("u1"), ai("a1", "u1"), ai("a2", "u1")];
    const all = { treeIds: ["u1", "a1", "a2"] };
    const { steps } = run(snap(tree, { currentId: "a2", ...all }), snap(tree, { currentId: "a1", ...all }));
    assert.deepEqual(steps.map(types), [["prompt", "output", "regenerate", "output"], ["selection"]]);
  });

  it("a leaf on a user message (a turn under way) or an unrecorded answer is not a selection", () => {
    const { drafts } = run(snap([user("u1"), ai("a1", "u1")], { currentId: "a1" }),
      snap([user("u1"), ai("a1", "u1"), user("u2", "a1")], { currentId: "u2" }),
      snap([user("u2", "a1"), ai("a2", "u2", { complete: false })], { currentId: "a2" }));
    assert.deepEqual(types(drafts), ["prompt", "output", "prompt"]);
  });
});

describe("tracker: identity", () => {
  const ada = { id: "user-1", name: "Ada", source: "GET /backend-api/me" };

  it("is recorded once per session, first, and again when the account changes", () => {
    let memory = emptyMemory();
    const one = diffSnapshot("chatgpt", "chatgpt@2", snap([user("u1")]), memory, { identity: ada, ids });
    memory = one.memory;
    assert.deepEqual(types(one.drafts), ["identity", "prompt"]);
    assert.deepEqual(one.drafts[0]?.params, { site_user_id: "user-1", name: "Ada", source: "GET /backend-api/me" });
    assert.equal(one.drafts[0]?.actor, "user");
    const two = diffSnapshot("chatgpt", "chatgpt@2", snap([user("u2", "u1")]), memory, { identity: { ...ada, name: "A." }, ids });
    assert.deepEqual(types(two.drafts), ["prompt"]);
    const three = identityDraft({ site: "chatgpt", id: "s1" }, "chatgpt@2", { id: "user-2", source: "x", email: "b@x" }, two.memory, ids);
    assert.deepEqual(types(three.drafts), ["identity"]);
    assert.deepEqual(three.drafts[0]?.params, { site_user_id: "user-2", email: "b@x", source: "x" });
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
