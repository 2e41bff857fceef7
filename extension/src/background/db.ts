/**
 * The device's durable state, in IndexedDB: the outbox of signed records, blobs, session chains
 * and the device key. Everything is written here before any upload is tried, so a browser restart
 * or a server outage loses nothing.
 */
import type { ChainHead } from "../core/chain.ts";
import type { OutputChoice } from "../core/messages.ts";
import type { Envelope } from "../core/record.ts";
import type { SessionMemory } from "../core/tracker.ts";

export const DB_NAME = "promptstamp";
const DB_VERSION = 1;

export type OutboxState = "queued" | "pending" | "stamped" | "rejected";

export interface OutboxItem {
  id: string;
  envelope: Envelope;
  digest: string;
  session: string;
  blobs: string[];
  state: OutboxState;
  attempts: number;
  error?: string;
  receipt?: unknown;
}

export interface BlobItem {
  digest: string;
  mediaType: string;
  bytes: ArrayBuffer;
  uploaded: boolean;
}

export interface SessionItem {
  key: string;
  site: string;
  id: string;
  url?: string;
  title?: string;
  head: ChainHead;
  memory: SessionMemory;
  outputs: OutputChoice[];
}

export interface DeviceItem {
  name: "device";
  keyPair: CryptoKeyPair;
  keyId: string;
  publicKey: string;
}

export function sessionKey(site: string, id: string): string {
  return `${site}\u0000${id}`;
}

let opening: Promise<IDBDatabase> | undefined;

export function openDb(factory: IDBFactory = indexedDB): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = factory.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      const outbox = db.createObjectStore("outbox", { keyPath: "id" });
      outbox.createIndex("state", "state");
      outbox.createIndex("session", "session");
      db.createObjectStore("blobs", { keyPath: "digest" });
      db.createObjectStore("sessions", { keyPath: "key" });
      db.createObjectStore("device", { keyPath: "name" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opening = undefined;
      reject(req.error ?? new Error("IndexedDB open failed"));
    };
  });
  return opening;
}

/** Forget the cached connection (tests open a fresh database). */
export function resetDbForTests(): void {
  opening = undefined;
}

export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

export async function get<T>(store: string, key: IDBValidKey): Promise<T | undefined> {
  const db = await openDb();
  return (await request(db.transaction(store).objectStore(store).get(key))) as T | undefined;
}

export async function put(store: string, value: unknown): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).put(value);
  await done(tx);
}

export async function byIndex<T>(store: string, index: string, key: IDBValidKey, limit?: number): Promise<T[]> {
  const db = await openDb();
  return (await request(db.transaction(store).objectStore(store).index(index).getAll(key, limit))) as T[];
}

export async function countByIndex(store: string, index: string, key: IDBValidKey): Promise<number> {
  const db = await openDb();
  return request(db.transaction(store).objectStore(store).index(index).count(key));
}
