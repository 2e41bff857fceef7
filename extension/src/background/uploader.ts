/**
 * Drains the outbox: blobs first (the server refuses a record whose blob it lacks), then records
 * in arrays, oldest first. Network and server failures back off exponentially; resending is
 * harmless because a record id is its idempotency key. A record the server rejects is kept,
 * marked, and named in the popup: it is never silently dropped.
 */
import { Api, ApiError, Unreachable } from "./api.ts";
import { byIndex, done, get, openDb, put, type BlobItem, type OutboxItem } from "./db.ts";
import { loadSettings, loadStatus, reportError, updateStatus } from "./settings.ts";

const BATCH = 100;
const MAX_BACKOFF_MS = 5 * 60 * 1000;

let running: Promise<void> | undefined;
let again = false;
let failures = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let nextAttemptAt = 0;

export function backoffMs(n: number): number {
  return Math.min(MAX_BACKOFF_MS, 2000 * 2 ** Math.max(0, n - 1));
}

function scheduleRetry(): void {
  failures++;
  const wait = backoffMs(failures);
  nextAttemptAt = Date.now() + wait;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void flush(), wait);
}

/** Upload what is queued now. `force` ignores the backoff (the popup's "Upload now"). */
export function flush(force = false): Promise<void> {
  if (!force && Date.now() < nextAttemptAt) return Promise.resolve();
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      do {
        again = false;
        await drain();
      } while (again);
    } finally {
      running = undefined;
    }
  })();
  return running;
}

async function markItems(items: OutboxItem[]): Promise<void> {
  const db = await openDb();
  const tx = db.transaction("outbox", "readwrite");
  for (const item of items) tx.objectStore("outbox").put(item);
  await done(tx);
}

/** The server refused a record for good: keep it in the outbox, marked, and say so in the popup. */
async function reject(item: OutboxItem, code: string, detail: string): Promise<void> {
  item.state = "rejected";
  item.error = `${code}: ${detail}`;
  item.attempts++;
  await markItems([item]);
  await reportError(`the server rejected a step (${code}): ${detail}`);
}

async function drain(): Promise<void> {
  const settings = await loadSettings();
  const status = await loadStatus();
  if (!settings.serverUrl || !settings.token || !status.registeredKey) return;
  const api = new Api(settings.serverUrl, settings.token);
  let batchSize = BATCH;
  // Blobs are sent again once per drain when the server says it lacks one; if it still lacks it
  // after that, back off rather than loop.
  let blobsResent = false;
  try {
    for (;;) {
      const items = await byIndex<OutboxItem>("outbox", "state", "queued", batchSize);
      if (!items.length) break;
      items.sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const digest of new Set(items.flatMap((i) => i.blobs))) {
        const blob = await get<BlobItem>("blobs", digest);
        if (!blob || blob.uploaded) continue;
        await api.putBlob(digest, blob.bytes, blob.mediaType);
        await put("blobs", { ...blob, uploaded: true });
      }
      try {
        const results = await api.postRecords(items.map((i) => i.envelope));
        const byId = new Map(results.map((r) => [r.record_id, r]));
        for (const item of items) {
          const r = byId.get(item.id);
          item.attempts++;
          if (r) {
            item.state = r.status === "stamped" ? "stamped" : "pending";
            item.receipt = r.receipt;
            delete item.error;
          }
        }
        await markItems(items);
        blobsResent = false;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 413 && items.length > 1) {
          // The body was too large: halve what was actually sent (not the nominal batch size).
          batchSize = Math.max(1, Math.floor(items.length / 2));
          continue;
        }
        if (e.code === "blob_missing") {
          const named = e.index !== undefined ? items[e.index] : items.length === 1 ? items[0] : undefined;
          // The server lost or never got a blob we marked uploaded: send the blobs again.
          let goneHere: string | undefined;
          for (const digest of new Set(items.flatMap((i) => i.blobs))) {
            const blob = await get<BlobItem>("blobs", digest);
            if (blob) await put("blobs", { ...blob, uploaded: false });
            else if (named?.blobs.includes(digest)) goneHere = digest;
          }
          if (named && goneHere) {
            // Neither side has the bytes any more: the record can never be accepted. Keep it, marked.
            await reject(named, e.code, `blob ${goneHere} is no longer on this device: ${e.detail}`);
            continue;
          }
          if (blobsResent) throw e;
          blobsResent = true;
          continue;
        }
        if ((e.status === 400 || e.status === 409 || e.status === 413) && (e.index !== undefined || items.length === 1)) {
          const bad = items[e.index ?? 0];
          if (!bad) throw e;
          await reject(bad, e.code, e.detail);
          continue;
        }
        if (e.status === 400 || e.status === 409) {
          // Cannot tell which record failed: send one at a time to find it.
          batchSize = 1;
          continue;
        }
        throw e;
      }
    }
    failures = 0;
    nextAttemptAt = 0;
    await updateStatus({ lastUploadAt: new Date().toISOString(), tokenRefused: undefined });
    const current = await loadStatus();
    if (current.lastError?.startsWith("upload:")) await reportError(undefined);
    await refreshPending(api);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      await updateStatus({ tokenRefused: true });
      await reportError("upload: the server refused the token; pair again in Options");
      return;
    }
    const why = e instanceof Unreachable ? e.message : e instanceof ApiError ? `${e.code}: ${e.detail}` : String(e);
    await reportError(`upload: ${why}; retrying in ${Math.round(backoffMs(failures + 1) / 1000)} s`);
    scheduleRetry();
  }
}

/** Ask the server about records stored but not yet time-stamped. */
async function refreshPending(api: Api): Promise<void> {
  const pending = await byIndex<OutboxItem>("outbox", "state", "pending", 50);
  const changed: OutboxItem[] = [];
  for (const item of pending) {
    const answer = await api.getRecord(item.id);
    if (answer.status === "stamped") {
      item.state = "stamped";
      if (answer.receipt) item.receipt = answer.receipt;
      changed.push(item);
    }
  }
  if (changed.length) await markItems(changed);
}
