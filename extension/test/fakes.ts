/**
 * What the background needs from the browser, for node tests: IndexedDB (fake-indexeddb, a full
 * implementation of the spec), extension storage kept in memory, and a scripted PromptStamp server
 * behind `fetch` that keeps records by id the way the real one does (a resent record answers with
 * its original receipt). Import this module before any module under src/background.
 */
import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";

type Area = Map<string, unknown>;

function storageArea(area: Area): chrome.storage.StorageArea {
  return {
    async get(keys?: string | string[] | null) {
      const wanted = keys === undefined || keys === null ? [...area.keys()] : Array.isArray(keys) ? keys : [keys];
      return Object.fromEntries(wanted.filter((k) => area.has(k)).map((k) => [k, structuredClone(area.get(k))]));
    },
    async set(items: { [key: string]: unknown }) {
      for (const [k, v] of Object.entries(items)) area.set(k, structuredClone(v));
    },
    async remove(keys: string | string[]) {
      for (const k of Array.isArray(keys) ? keys : [keys]) area.delete(k);
    },
  } as unknown as chrome.storage.StorageArea;
}

export const local: Area = new Map();
const session: Area = new Map();
(globalThis as { chrome?: unknown }).chrome = {
  storage: { local: storageArea(local), session: storageArea(session) },
};

/** A fresh, empty IndexedDB for the next test (the cached connection must be dropped too). */
export function freshIndexedDb(): void {
  (globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory();
}

export interface Call {
  method: string;
  path: string;
  /** Record ids of a POST /v1/records. */
  ids?: string[];
}

type Override = (call: Call) => Response | "drop" | undefined;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** The service's record API in memory. `next` scripts answers (or a lost connection) for coming calls. */
export class FakeServer {
  readonly calls: Call[] = [];
  readonly blobs = new Set<string>();
  readonly receipts = new Map<string, { record_id: string; n: number }>();
  readonly next: Override[] = [];
  down = false;
  /** POSTs with more records than this answer 413 (the server's body limit). */
  maxRecords = Infinity;

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (this.down) throw new TypeError("Failed to fetch");
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const call: Call = { method, path: url.pathname };
    let envelopes: { record: { id: string; attachments?: { digest: string }[] } }[] = [];
    if (method === "POST" && url.pathname === "/v1/records") {
      envelopes = JSON.parse(String(init?.body)) as typeof envelopes;
      call.ids = envelopes.map((e) => e.record.id);
    }
    this.calls.push(call);
    const scripted = this.next.shift()?.(call);
    if (scripted === "drop") {
      this.answer(method, url, envelopes); // the server did the work, the answer never arrived
      throw new TypeError("Failed to fetch");
    }
    return scripted ?? this.answer(method, url, envelopes);
  };

  private answer(method: string, url: URL, envelopes: { record: { id: string; attachments?: { digest: string }[] } }[]): Response {
    if (method === "PUT" && url.pathname.startsWith("/v1/blobs/")) {
      this.blobs.add(decodeURIComponent(url.pathname.slice("/v1/blobs/".length)));
      return json(201, { created: true });
    }
    if (method === "POST" && url.pathname === "/v1/records") {
      if (envelopes.length > this.maxRecords) return json(413, { error: "too_large", detail: "request body exceeds the limit" });
      for (const [i, e] of envelopes.entries()) {
        for (const a of e.record.attachments ?? []) {
          if (!this.blobs.has(a.digest)) {
            return json(400, { error: "blob_missing", detail: `item ${i}: blob ${a.digest} was never uploaded`, index: i });
          }
        }
      }
      const results = envelopes.map((e) => {
        const receipt = this.receipts.get(e.record.id) ?? { record_id: e.record.id, n: this.receipts.size + 1 };
        this.receipts.set(e.record.id, receipt);
        return { record_id: e.record.id, status: "stamped", receipt };
      });
      return json(201, { results });
    }
    if (method === "GET" && url.pathname.startsWith("/v1/records/")) {
      const receipt = this.receipts.get(url.pathname.slice("/v1/records/".length));
      return receipt ? json(200, { status: "stamped", receipt }) : json(404, { error: "not_found", detail: "no such record" });
    }
    return json(404, { error: "not_found", detail: url.pathname });
  }

  posts(): string[][] {
    return this.calls.filter((c) => c.ids).map((c) => c.ids ?? []);
  }
}

export function errorAnswer(status: number, error: string, detail: string, index?: number): Response {
  return json(status, index === undefined ? { error, detail } : { error, detail, index });
}
