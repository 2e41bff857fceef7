/**
 * Records drafts: fetches and hashes their images, seals each record into its session's chain
 * (seq, prev, device signature) and writes record, chain head and memory in one transaction.
 * One lock per session keeps the chain linear when snapshots arrive together.
 */
import { adapterTag, type SiteIdentity, type Snapshot } from "../adapters/types.ts";
import { seal, type SealContext } from "../core/chain.ts";
import { digestBytes } from "../core/digest.ts";
import type { OutputChoice } from "../core/messages.ts";
import type { Attachment, Draft, ImageRef } from "../core/record.ts";
import { diffSnapshot, emptyMemory, identityDraft } from "../core/tracker.ts";
import { UlidFactory } from "../core/ulid.ts";
import { adapterForSite } from "../adapters/registry.ts";
import { done, get, openDb, put, sessionKey, type BlobItem, type OutboxItem, type SessionItem } from "./db.ts";
import { deviceSigner } from "./devicekey.ts";
import { reportError } from "./settings.ts";

const MAX_IMAGE = 50 * 1024 * 1024;
const MEDIA_TYPE_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
const ulids = new UlidFactory();
const locks = new Map<string, Promise<unknown>>();
let onRecorded: () => void = () => undefined;

export function setOnRecorded(fn: () => void): void {
  onRecorded = fn;
}

function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prior = locks.get(key) ?? Promise.resolve();
  const run = prior.catch(() => undefined).then(fn);
  locks.set(key, run);
  void run.finally(() => {
    if (locks.get(key) === run) locks.delete(key);
  }).catch(() => undefined);
  return run;
}

async function context(): Promise<SealContext> {
  return { now: () => Date.now(), ulids, signer: await deviceSigner() };
}

function sanitizeMediaType(value: string | null | undefined, fallback: string | undefined): string {
  const base = (value ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (MEDIA_TYPE_RE.test(base) && base !== "application/octet-stream") return base;
  return fallback && MEDIA_TYPE_RE.test(fallback) ? fallback : "application/octet-stream";
}

/** Where an image came from, without query strings (signed URLs carry short-lived secrets). */
function sourceUrl(url: string): string {
  const u = new URL(url);
  return u.origin + u.pathname;
}

async function fetchImage(ref: ImageRef, headers: { [name: string]: string }, pageOrigin: string): Promise<Attachment> {
  const withAuth = (url: string) => (new URL(url).origin === pageOrigin ? headers : {});
  let url = ref.url;
  if (ref.resolveField) {
    const res = await fetch(url, { credentials: "include", headers: withAuth(url) });
    if (!res.ok) throw new Error(`HTTP ${res.status} resolving ${sourceUrl(url)}`);
    const body = (await res.json()) as { [key: string]: unknown };
    const next = body[ref.resolveField];
    if (typeof next !== "string") throw new Error(`no ${ref.resolveField} in the answer of ${sourceUrl(url)}`);
    url = new URL(next, url).href;
  }
  const res = await fetch(url, { credentials: "include", headers: withAuth(url) });
  if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${sourceUrl(url)}`);
  const bytes = await res.arrayBuffer();
  if (bytes.byteLength > MAX_IMAGE) throw new Error(`image of ${bytes.byteLength} bytes exceeds ${MAX_IMAGE}`);
  const digest = await digestBytes(bytes);
  const mediaType = sanitizeMediaType(res.headers.get("content-type"), ref.mediaType);
  const existing = await get<BlobItem>("blobs", digest);
  if (!existing) await put("blobs", { digest, mediaType, bytes, uploaded: false } satisfies BlobItem);
  return { digest, media_type: mediaType, bytes: bytes.byteLength, role: ref.role ?? "output", source_url: sourceUrl(url) };
}

async function fetchImages(draft: Draft, headers: { [name: string]: string }, pageOrigin: string): Promise<{
  attachments: Attachment[]; failed: string[];
}> {
  const attachments: Attachment[] = [];
  const failed: string[] = [];
  for (const ref of draft.images ?? []) {
    let lastError = "";
    for (const wait of [0, 1000, 3000]) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      try {
        attachments.push(await fetchImage(ref, headers, pageOrigin));
        lastError = "";
        break;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
    }
    if (lastError) failed.push(lastError);
  }
  return { attachments, failed };
}

function blankSession(site: string, id: string): SessionItem {
  return { key: sessionKey(site, id), site, id, head: { seq: 0, last: null }, memory: emptyMemory(), outputs: [] };
}

/** Seal one draft into its session and store it; returns the record id. */
async function sealAndStore(session: SessionItem, draft: Draft, attachments: Attachment[], ctx: SealContext): Promise<string> {
  const sealed = await seal(draft, attachments, session.head, ctx);
  const record = sealed.envelope.record;
  session.head = sealed.head;
  if (draft.session.url) session.url = draft.session.url;
  if (draft.session.title) session.title = draft.session.title;
  if (record.type === "output") {
    const choice: OutputChoice = {
      recordId: record.id, messageId: draft.messageId, capturedAt: record.captured_at,
      excerpt: (record.text ?? "").slice(0, 160),
      images: (record.attachments ?? []).map((a) => ({ digest: a.digest, mediaType: a.media_type, bytes: a.bytes })),
    };
    session.outputs = [...session.outputs, choice].slice(-30);
  }
  const item: OutboxItem = {
    id: record.id, envelope: sealed.envelope, digest: sealed.digest, session: session.key,
    blobs: (record.attachments ?? []).map((a) => a.digest), state: "queued", attempts: 0,
  };
  const db = await openDb();
  const tx = db.transaction(["outbox", "sessions"], "readwrite");
  tx.objectStore("outbox").put(item);
  tx.objectStore("sessions").put(session);
  await done(tx);
  return record.id;
}

/** Record what a snapshot of a site's conversation adds to what this device already recorded; answers the drafts recorded. */
export function recordSnapshot(
  site: string, snap: Snapshot, headers: { [name: string]: string }, pageOrigin: string, identity?: SiteIdentity,
): Promise<Draft[]> {
  const adapter = adapterForSite(site);
  if (!adapter) return Promise.resolve([]);
  const key = sessionKey(site, snap.sessionId);
  return withLock(key, async () => {
    const session = (await get<SessionItem>("sessions", key)) ?? blankSession(site, snap.sessionId);
    const { drafts, memory } = diffSnapshot(site, adapterTag(adapter), snap, session.memory,
      { identity, ids: () => ulids.next(Date.now()) });
    if (!drafts.length) {
      // Nothing to record, but the active leaf seen is remembered (a later move to another is a selection).
      const retitled = Boolean(snap.title && snap.title !== session.title && session.head.seq > 0);
      if (retitled || memory.currentId !== session.memory.currentId) {
        await put("sessions", { ...session, title: retitled ? snap.title : session.title, memory });
      }
      return [];
    }
    const ctx = await context();
    for (const draft of drafts) {
      const { attachments, failed } = await fetchImages(draft, headers, pageOrigin);
      if (failed.length) {
        draft.refs = { ...draft.refs, images_not_fetched: failed.join("; ").slice(0, 1000) };
        await reportError(`could not fetch a generated image: ${failed[0]}`);
      }
      delete draft.images;
      const seen = draft.messageId ? memory.messages[draft.messageId] : undefined;
      if (draft.messageId && seen) session.memory.messages = { ...session.memory.messages, [draft.messageId]: seen };
      if (draft.type === "parameters") session.memory.params = memory.params;
      await sealAndStore(session, draft, attachments, ctx);
    }
    session.memory = memory;
    await put("sessions", session);
    onRecorded();
    return drafts;
  });
}

/** Record who is signed in to the site in a session that already has records, if it changed. */
export function recordIdentity(site: string, sessionId: string, identity: SiteIdentity): Promise<void> {
  const adapter = adapterForSite(site);
  if (!adapter) return Promise.resolve();
  const key = sessionKey(site, sessionId);
  return withLock(key, async () => {
    const session = await get<SessionItem>("sessions", key);
    if (!session || session.head.seq === 0) return; // the session's first snapshot records it
    const ref = { site, id: sessionId, ...(session.url ? { url: session.url } : {}), ...(session.title ? { title: session.title } : {}) };
    const { drafts, memory } = identityDraft(ref, adapterTag(adapter), identity, session.memory, () => ulids.next(Date.now()));
    if (!drafts.length) return;
    const ctx = await context();
    for (const draft of drafts) await sealAndStore(session, draft, [], ctx);
    session.memory = memory;
    await put("sessions", session);
    onRecorded();
  });
}

/** Record a step the user made themselves (selection, note, stamped page content). */
export function recordUserStep(site: string, sessionId: string, draft: Draft, attachments: Attachment[] = []): Promise<string> {
  const key = sessionKey(site, sessionId);
  return withLock(key, async () => {
    const session = (await get<SessionItem>("sessions", key)) ?? blankSession(site, sessionId);
    const id = await sealAndStore(session, draft, attachments, await context());
    onRecorded();
    return id;
  });
}

export { fetchImage };
