import { freshIndexedDb, local } from "./fakes.ts";
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { byIndex, get, resetDbForTests, sessionKey, type BlobItem, type DeviceItem, type OutboxItem } from "../src/background/db.ts";
import { MENU_IMAGE, MENU_SELECTION, originsNeeded, stampFromPage, type PageSession } from "../src/background/pagestamp.ts";
import type { Status } from "../src/background/settings.ts";
import { canonicalize } from "../src/core/jcs.ts";
import { digestBytes } from "../src/core/digest.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const page = "https://example.org/essays/moby?ref=feed";
const tab = { id: 7, url: page, title: "Essays" } as chrome.tabs.Tab;
const noSession = async (): Promise<PageSession | undefined> => undefined;
const click = (data: Partial<chrome.contextMenus.OnClickData>) =>
  ({ editable: false, pageUrl: page, ...data }) as chrome.contextMenus.OnClickData;
const yes = () => Promise.resolve(true);

let fetched: string[] = [];

beforeEach(() => {
  freshIndexedDb();
  resetDbForTests();
  local.clear();
  fetched = [];
  globalThis.fetch = async (input) => {
    fetched.push(String(input));
    return new Response(PNG, { headers: { "Content-Type": "image/png" } });
  };
});

async function stored(id: string | undefined): Promise<OutboxItem> {
  assert.ok(id, "a record id");
  const item = await get<OutboxItem>("outbox", id);
  assert.ok(item);
  return item;
}

describe("context menu: Stamp selection / Stamp image (the handler Chromium's menu calls)", () => {
  it("a selection on an ordinary page is a signed selection step in that page's own session", async () => {
    const id = await stampFromPage(click({ menuItemId: MENU_SELECTION, selectionText: "Call me Ishmael." }), tab, yes(), noSession);
    const item = await stored(id);
    const r = item.envelope.record;
    assert.equal(r.type, "selection");
    assert.equal(r.actor, "user");
    assert.deepEqual(r.session, { site: "web", id: "https://example.org/essays/moby", url: page, title: "Essays" });
    assert.equal(r.text, "Call me Ishmael.");
    assert.deepEqual(r.refs, { page_url: page });
    assert.equal(r.seq, 1);
    assert.equal(r.prev, null);
    assert.equal(item.state, "queued");
    // The device signature covers the record's RFC 8785 bytes.
    const device = await get<DeviceItem>("device", "device");
    assert.ok(device && item.envelope.device_sig);
    assert.equal(r.client.device, device.keyId);
    assert.ok(await crypto.subtle.verify({ name: "Ed25519" }, device.keyPair.publicKey,
      Buffer.from(item.envelope.device_sig.sig, "base64"), canonicalize(r)));

    const second = await stored(await stampFromPage(
      click({ menuItemId: MENU_SELECTION, selectionText: "Some years ago" }), tab, yes(), noSession));
    assert.equal(second.envelope.record.seq, 2);
    assert.equal(second.envelope.record.prev, await digestBytes(canonicalize(r)));
  });

  it("an image is fetched, kept as a blob and attached as the selected bytes (no signed query in the evidence)", async () => {
    const src = "https://img.example.org/covers/whale.png?sig=secret";
    assert.deepEqual(originsNeeded(click({ menuItemId: MENU_IMAGE, srcUrl: src })), ["https://img.example.org/*"]);
    const item = await stored(await stampFromPage(click({ menuItemId: MENU_IMAGE, srcUrl: src }), tab, yes(), noSession));
    const digest = await digestBytes(PNG);
    assert.deepEqual(item.envelope.record.attachments, [
      { digest, media_type: "image/png", bytes: PNG.length, role: "selected", source_url: "https://img.example.org/covers/whale.png" },
    ]);
    assert.deepEqual(item.blobs, [digest]);
    assert.equal((await get<BlobItem>("blobs", digest))?.uploaded, false);
    assert.deepEqual(fetched, [src]);
  });

  it("without the origin's permission nothing is fetched or recorded, and the popup says why", async () => {
    const src = "https://img.example.org/covers/whale.png";
    const id = await stampFromPage(click({ menuItemId: MENU_IMAGE, srcUrl: src }), tab, Promise.resolve(false), noSession);
    assert.equal(id, undefined);
    assert.deepEqual(fetched, []);
    assert.deepEqual(await byIndex("outbox", "state", "queued"), []);
    assert.match((local.get("status") as Status).lastError ?? "", /no permission to read images from img\.example\.org/);
  });

  it("a blob: image cannot be read from outside the page: nothing recorded, the reason shown", async () => {
    const id = await stampFromPage(click({ menuItemId: MENU_IMAGE, srcUrl: "blob:https://example.org/1234" }), tab, yes(), noSession);
    assert.equal(id, undefined);
    assert.match((local.get("status") as Status).lastError ?? "", /blob: address/);
    assert.deepEqual(originsNeeded(click({ menuItemId: MENU_IMAGE, srcUrl: "data:image/png;base64,AA==" })), []);
    assert.deepEqual(originsNeeded(click({ menuItemId: MENU_SELECTION, selectionText: "x" })), []);
  });

  it("on a supported site's conversation the step joins that conversation's chain", async () => {
    const chat = async (): Promise<PageSession> => ({ site: "chatgpt", id: "c-42", url: "https://chatgpt.com/c/c-42" });
    const item = await stored(await stampFromPage(
      click({ menuItemId: MENU_SELECTION, selectionText: "the line I keep", pageUrl: "https://chatgpt.com/c/c-42" }),
      { id: 3, url: "https://chatgpt.com/c/c-42" } as chrome.tabs.Tab, yes(), chat));
    assert.equal(item.session, sessionKey("chatgpt", "c-42"));
    assert.deepEqual(item.envelope.record.session, { site: "chatgpt", id: "c-42", url: "https://chatgpt.com/c/c-42" });
  });
});
