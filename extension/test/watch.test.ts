import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Draft } from "../src/core/record.ts";
import {
  afterPageCount, afterRecording, dueAt, emptyWatch, nextCheck, DEFAULT_TIMINGS, FORGET_AFTER_MS, type Look, type WatchState,
} from "../src/core/watch.ts";

const session = { site: "chatgpt", id: "s1" };
const prompt = (id: string, extra: Partial<Draft> = {}): Draft =>
  ({ type: "prompt", actor: "user", session, messageId: id, refs: { message_id: id }, ...extra });
const output = (id: string, parent?: string): Draft =>
  ({ type: "output", actor: "ai", session, messageId: id, refs: parent ? { message_id: id, parent_message_id: parent } : { message_id: id } });
const at = (now: number) => ({ site: "chatgpt", sessionId: "s1", adapter: "chatgpt@2", now, tabId: 7, pageUrl: "https://chatgpt.com/c/s1" });
const shown: Look = { shownSomewhere: () => true, recorded: () => 0, tabShows: () => true };
const MIN = 60_000;

describe("no-answer check", () => {
  it("an answered prompt raises nothing; an unanswered one raises once, after its timeout", () => {
    let s: WatchState = afterRecording(emptyWatch(), [prompt("u1")], at(0));
    s = afterRecording(s, [output("a1", "u1"), prompt("u2")], at(MIN));
    assert.deepEqual(s.turns.map((t) => t.messageId), ["u2"]);
    assert.equal(dueAt(s, MIN + 2 * MIN, shown).due.noAnswer.length, 0);
    const first = dueAt(s, MIN + 3 * MIN, shown);
    assert.deepEqual(first.due.noAnswer.map((t) => t.messageId), ["u2"]);
    assert.equal(dueAt(first.state, 60 * MIN, shown).due.noAnswer.length, 0, "one alarm per gap");
  });

  it("judges each turn on its own, and waits longer for images, thinking and video", () => {
    let s = afterRecording(emptyWatch(), [prompt("u1", { awaits: "image" }), prompt("u2", { awaits: "video" })], at(0));
    s = afterRecording(s, [prompt("u3")], at(0));
    const { due } = dueAt(s, DEFAULT_TIMINGS.noAnswerMs.image, shown);
    assert.deepEqual(due.noAnswer.map((t) => t.messageId).sort(), ["u1", "u3"]);
    assert.equal(nextCheck(s), DEFAULT_TIMINGS.noAnswerMs.text);
  });

  it("answers without parent ids close the oldest open turn of their session", () => {
    let s = afterRecording(emptyWatch(), [prompt("u1"), prompt("u2")], at(0));
    s = afterRecording(s, [output("a1")], at(1));
    assert.deepEqual(s.turns.map((t) => t.messageId), ["u2"]);
  });

  it("site acts, superseding sightings and prompts the site dates long ago open no turn", () => {
    const old = new Date(-DEFAULT_TIMINGS.freshPromptMs - 1).toISOString();
    const s = afterRecording(emptyWatch(), [
      { ...prompt("u1"), type: "selection" }, prompt("u2", { refs: { message_id: "u2", supersedes: "R1" } }),
      prompt("u3", { refs: { message_id: "u3", created_at: old } }),
    ], at(0));
    assert.equal(s.turns.length, 0);
  });

  it("a turn whose conversation is never shown again is forgotten after a week", () => {
    const s = afterRecording(emptyWatch(), [prompt("u1")], at(0));
    const gone = dueAt(s, 5 * MIN, { ...shown, shownSomewhere: () => false });
    assert.equal(gone.state.turns.length, 1);
    assert.equal(dueAt(gone.state, FORGET_AFTER_MS + 1, shown).state.turns.length, 0);
  });

  it("a prompt whose page closed waits for the conversation to be shown again", () => {
    const s = afterRecording(emptyWatch(), [prompt("u1")], at(0));
    const gone = dueAt(s, 5 * MIN, { ...shown, shownSomewhere: () => false });
    assert.equal(gone.due.noAnswer.length, 0);
    assert.equal(gone.state.turns[0]?.deadline, undefined);
    const back = afterRecording(gone.state, [], at(30 * MIN));
    assert.equal(back.turns[0]?.deadline, 30 * MIN + DEFAULT_TIMINGS.revisitGraceMs);
    const answered = afterRecording(back, [output("a1", "u1")], at(30 * MIN + 1000));
    assert.equal(answered.turns.length, 0);
  });
});

describe("page-ahead check", () => {
  const gap = (shownTurns: number, recorded: number) => ({
    site: "chatgpt", sessionId: "s1", adapter: "chatgpt@2", tabId: 7, pageUrl: "https://chatgpt.com/c/s1", shown: shownTurns, recorded,
  });
  const look = (recorded: number): Look => ({ shownSomewhere: () => true, recorded: () => recorded, tabShows: () => true });

  it("alarms after the grace period, once, and again only after the gap closed and reopened", () => {
    let s = afterPageCount(emptyWatch(), gap(4, 2), 0);
    s = afterPageCount(s, gap(5, 2), 10_000); // the same gap growing keeps its start
    assert.equal(dueAt(s, DEFAULT_TIMINGS.pageAheadGraceMs - 1, look(2)).due.pageAhead.length, 0);
    const raised = dueAt(s, DEFAULT_TIMINGS.pageAheadGraceMs, look(2));
    assert.equal(raised.due.pageAhead.length, 1);
    assert.equal(dueAt(raised.state, 10 * MIN, look(2)).due.pageAhead.length, 0);
    s = afterPageCount(raised.state, gap(5, 5), 11 * MIN);
    s = afterPageCount(s, gap(7, 5), 12 * MIN);
    assert.equal(dueAt(s, 12 * MIN + DEFAULT_TIMINGS.pageAheadGraceMs, look(5)).due.pageAhead.length, 1);
  });

  it("a tab closed (or moved to another conversation) before the grace period ended is no gap", () => {
    const s = afterPageCount(emptyWatch(), gap(4, 2), 0);
    const closed = dueAt(s, DEFAULT_TIMINGS.pageAheadGraceMs, { ...look(2), tabShows: () => false });
    assert.equal(closed.due.pageAhead.length, 0);
    assert.deepEqual(closed.state.pages, {});
  });

  it("raises nothing when the records caught up meanwhile, or while an answer is under way", () => {
    const s = afterPageCount(emptyWatch(), gap(4, 2), 0);
    assert.equal(dueAt(s, 10 * MIN, look(4)).due.pageAhead.length, 0);
    const busy = afterRecording(s, [prompt("u9")], at(0));
    assert.equal(dueAt(busy, DEFAULT_TIMINGS.pageAheadGraceMs, look(2)).due.pageAhead.length, 0);
  });
});
