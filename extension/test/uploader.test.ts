import { FakeServer, errorAnswer, freshIndexedDb, local } from "./fakes.ts";
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { get, put, resetDbForTests, type BlobItem, type OutboxItem } from "../src/background/db.ts";
import type { Status } from "../src/background/settings.ts";
import { backoffMs } from "../src/background/uploader.ts";
import { APP, type StampRecord } from "../src/core/record.ts";

type Uploader = typeof import("../src/background/uploader.ts");

let instances = 0;
/** A fresh copy of the uploader module: what a restarted service worker starts with (no memory). */
async function startWorker(): Promise<Uploader> {
  resetDbForTests();
  return (await import(`../src/background/uploader.ts?worker=${++instances}`)) as Uploader;
}

const idOf = (n: number) => `01KTEST0000000000000000${String(n).padStart(3, "0")}`;

function item(n: number, blobs: string[] = []): OutboxItem {
  const record: StampRecord = {
    v: 1, id: idOf(n), type: "prompt", session: { site: "chatgpt", id: "s1" }, seq: n, prev: null,
    captured_at: "2026-11-28T12:00:00.000Z", actor: "user", text: `step ${n}`, client: { app: APP },
  };
  if (blobs.length) record.attachments = blobs.map((digest) => ({ digest, media_type: "image/png", bytes: 3, role: "output" }));
  return { id: record.id, envelope: { record }, digest: `sha256:${n}`, session: "chatgpt\u0000s1", blobs, state: "queued", attempts: 0 };
}

async function queue(...items: OutboxItem[]): Promise<void> {
  for (const i of items) await put("outbox", i);
}

async function outbox(n: number): Promise<OutboxItem> {
  const found = await get<OutboxItem>("outbox", idOf(n));
  assert.ok(found, `item ${n} is still in the outbox`);
  return found;
}

const states = async (...ns: number[]) => Promise.all(ns.map(async (n) => (await outbox(n)).state));
const status = () => (local.get("status") ?? {}) as Status;

/** Let the IndexedDB work a timer started run to its end (fake-indexeddb schedules with setImmediate). */
async function settle(until: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await until()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail("the uploader did not get there");
}

let server: FakeServer;

beforeEach(() => {
  freshIndexedDb();
  resetDbForTests();
  local.clear();
  local.set("settings", { serverUrl: "https://stamp.test", token: "secret" });
  local.set("status", { registeredKey: "00d1ce0fa11ce5ed" });
  server = new FakeServer();
  globalThis.fetch = server.fetch;
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.parse("2026-11-28T12:00:00Z") });
});

afterEach(() => mock.timers.reset());

describe("uploader: the outbox and the server's answers", () => {
  it("sends the queue oldest first in one post and keeps each receipt", async () => {
    await queue(item(3), item(1), item(2));
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(server.posts(), [[idOf(1), idOf(2), idOf(3)]]);
    assert.deepEqual(await states(1, 2, 3), ["stamped", "stamped", "stamped"]);
    assert.deepEqual((await outbox(2)).receipt, { record_id: idOf(2), n: 2 });
    assert.ok(status().lastUploadAt);
  });

  it("401: everything stays queued, the popup says to pair again, and nothing retries by itself", async () => {
    await queue(item(1), item(2));
    server.next.push(() => errorAnswer(401, "unauthorized", "unknown token"));
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(await states(1, 2), ["queued", "queued"]);
    assert.match(status().lastError ?? "", /refused the token; pair again/);
    mock.timers.tick(10 * 60 * 1000);
    await settle(() => true);
    assert.equal(server.calls.length, 1);
  });

  it("400 naming one record: that record is marked rejected and kept, the others are stamped", async () => {
    await queue(item(1), item(2), item(3));
    server.next.push(() => errorAnswer(400, "invalid_record", "item 1: record.text is not a string", 1));
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(server.posts(), [[idOf(1), idOf(2), idOf(3)], [idOf(1), idOf(3)]]);
    assert.deepEqual(await states(1, 2, 3), ["stamped", "rejected", "stamped"]);
    const rejected = await outbox(2);
    assert.equal(rejected.error, "invalid_record: item 1: record.text is not a string");
    assert.equal(rejected.attempts, 1);
    assert.match(status().lastError ?? "", /rejected a step \(invalid_record\)/);
    await up.flush(true);
    assert.equal(server.posts().length, 2, "a rejected record is not sent again and again");
  });

  it("409 without an index: records go one at a time until the conflicting one is found", async () => {
    await queue(item(1), item(2), item(3));
    server.next.push(
      () => errorAnswer(409, "conflict", "a record with this id exists with different content"),
      () => undefined, // item 1 alone: accepted
      () => errorAnswer(409, "conflict", "a record with this id exists with different content"),
    );
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(server.posts(), [[idOf(1), idOf(2), idOf(3)], [idOf(1)], [idOf(2)], [idOf(3)]]);
    assert.deepEqual(await states(1, 2, 3), ["stamped", "rejected", "stamped"]);
    assert.match((await outbox(2)).error ?? "", /^conflict: /);
  });

  it("413: the batch is halved until it fits, and nothing is rejected", async () => {
    await queue(item(1), item(2), item(3), item(4), item(5));
    server.maxRecords = 2;
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(server.posts().map((p) => p.length), [5, 2, 2, 1]);
    assert.deepEqual(await states(1, 2, 3, 4, 5), ["stamped", "stamped", "stamped", "stamped", "stamped"]);
    assert.equal(status().lastError, undefined);
  });

  it("413 for a single record rejects it (it can never fit) and keeps it", async () => {
    await queue(item(1));
    server.maxRecords = 0;
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(await states(1), ["rejected"]);
    assert.match((await outbox(1)).error ?? "", /^too_large: /);
  });

  it("blob_missing: the blob is uploaded again and the record goes through", async () => {
    const digest = "sha256:" + "ab".repeat(32);
    await put("blobs", { digest, mediaType: "image/png", bytes: new Uint8Array([1, 2, 3]).buffer, uploaded: true } satisfies BlobItem);
    await queue(item(1, [digest]), item(2));
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(server.calls.map((c) => `${c.method} ${c.path}`), [
      "POST /v1/records", `PUT /v1/blobs/${digest}`, "POST /v1/records",
    ]);
    assert.deepEqual(await states(1, 2), ["stamped", "stamped"]);
    assert.equal((await get<BlobItem>("blobs", digest))?.uploaded, true);
  });

  it("blob_missing for a blob this device no longer has: the record is rejected, not retried forever", async () => {
    const digest = "sha256:" + "cd".repeat(32);
    await queue(item(1, [digest]), item(2));
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(await states(1, 2), ["rejected", "stamped"]);
    assert.match((await outbox(1)).error ?? "", /^blob_missing: blob sha256:cdcd.* is no longer on this device/);
    assert.equal(server.posts().length, 2);
  });

  it("blob_missing again after the blob was sent again: backs off instead of looping", async () => {
    const digest = "sha256:" + "ef".repeat(32);
    await put("blobs", { digest, mediaType: "image/png", bytes: new Uint8Array([9]).buffer, uploaded: true } satisfies BlobItem);
    await queue(item(1, [digest]));
    const lost = () => errorAnswer(400, "blob_missing", `blob ${digest} was never uploaded`, 0);
    server.next.push(lost, () => undefined, lost); // post, blob PUT, post
    const up = await startWorker();
    await up.flush(true);
    assert.equal(server.posts().length, 2);
    assert.deepEqual(await states(1), ["queued"]);
    assert.match(status().lastError ?? "", /^upload: blob_missing: .*retrying in 2 s/);
    mock.timers.tick(2000);
    await settle(async () => (await states(1))[0] === "stamped");
  });

  it("backoff: an unreachable server is retried after 2 s, 4 s, 8 s …, and the queue drains on its own", async () => {
    assert.deepEqual([1, 2, 3, 4, 8, 9, 20].map(backoffMs), [2000, 4000, 8000, 16000, 256000, 300000, 300000]);
    await queue(item(1), item(2));
    server.down = true;
    let attempts = 0;
    const reach = server.fetch;
    globalThis.fetch = (input, init) => {
      attempts++;
      return reach(input, init);
    };
    const up = await startWorker();
    await up.flush(true);
    assert.equal(attempts, 1);
    assert.match(status().lastError ?? "", /^upload: cannot reach stamp\.test .*; retrying in 2 s$/);
    await up.flush(); // an alarm or a new step during the backoff does not hammer the server
    assert.equal(attempts, 1);
    mock.timers.tick(1999);
    await settle(() => true);
    assert.equal(attempts, 1);
    mock.timers.tick(1);
    await settle(() => attempts === 2 && /retrying in 4 s$/.test(status().lastError ?? ""));
    mock.timers.tick(3999);
    await settle(() => true);
    assert.equal(attempts, 2, "the second wait is twice as long");
    server.down = false;
    mock.timers.tick(1);
    await settle(async () => (await states(1, 2)).every((s) => s === "stamped") && status().lastError === undefined);
    assert.equal(attempts, 3);
    assert.equal(status().lastError, undefined, "the outage message is cleared once uploads work");
  });

  it("a restarted worker sends what the last one left queued; the server keeps one copy and the first receipts", async () => {
    await queue(item(1), item(2), item(3));
    server.next.push(() => "drop"); // stored on the server, but the answer never came back
    const first = await startWorker();
    await first.flush(true);
    assert.deepEqual(await states(1, 2, 3), ["queued", "queued", "queued"]);
    const receipts = new Map(server.receipts);
    mock.timers.reset(); // the old worker is gone, and its retry timer with it
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.parse("2026-11-28T12:05:00Z") });

    const second = await startWorker();
    await second.flush(true);
    assert.deepEqual(server.posts(), [[idOf(1), idOf(2), idOf(3)], [idOf(1), idOf(2), idOf(3)]]);
    assert.deepEqual(await states(1, 2, 3), ["stamped", "stamped", "stamped"]);
    assert.equal(server.receipts.size, 3);
    for (const n of [1, 2, 3]) assert.deepEqual((await outbox(n)).receipt, receipts.get(idOf(n)));
  });

  it("a restarted worker asks about records still pending a time-stamp", async () => {
    await queue({ ...item(1), state: "pending" }, item(2));
    server.receipts.set(idOf(1), { record_id: idOf(1), n: 1 });
    const up = await startWorker();
    await up.flush(true);
    assert.deepEqual(await states(1, 2), ["stamped", "stamped"]);
    assert.ok(server.calls.some((c) => c.method === "GET" && c.path === `/v1/records/${idOf(1)}`));
  });
});
