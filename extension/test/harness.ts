/**
 * Golden-fixture runner: replays a fixture's recorded exchanges through the site's adapter, the
 * tracker and the chain, with a fixed clock, fixed ids and a fixed device key id, and answers the
 * adapter's re-fetches and image fetches from the fixture. Output: the records it would store.
 */
import { readFileSync } from "node:fs";
import { parseHTML } from "linkedom";
import { adapterForHost } from "../src/adapters/registry.ts";
import {
  adapterTag, type DomHealth, type Exchange, type Observation, type PageState, type SiteIdentity,
} from "../src/adapters/types.ts";
import { seal, type ChainHead } from "../src/core/chain.ts";
import { digestBytes } from "../src/core/digest.ts";
import type { Attachment, ImageRef, StampRecord } from "../src/core/record.ts";
import { diffSnapshot, emptyMemory, type SessionMemory } from "../src/core/tracker.ts";
import { UlidFactory } from "../src/core/ulid.ts";

export const FIXTURES = new URL("./fixtures/", import.meta.url);
export const EXPECTED = new URL("./expected/", import.meta.url);
export const DEVICE = "00d1ce0fa11ce5ed";
const T0 = Date.parse("2026-11-28T12:00:00.000Z");

interface Canned { contentType: string; text?: string; base64?: string }
/**
 * A fixture. `responses` answers the adapter's re-reads and image fetches: keyed by URL for a GET,
 * by "POST <url>" for a POST read. Each fixture's header fields say where its shapes come from.
 */
interface Fixture {
  description: string;
  /** The public capture or project the shapes follow (live-traffic-2026.md source key and file). */
  source?: string;
  page: string;
  html?: string;
  exchanges: Exchange[];
  responses?: { [url: string]: Canned };
}

export interface Outcome {
  description: string;
  records: StampRecord[];
  drift: string[];
  dom?: DomHealth;
}

/** Replay a fixture; `upTo` replays only its first exchanges (what was known at that moment). */
export async function runFixture(name: string, upTo?: number): Promise<Outcome> {
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  const page = new URL(fx.page);
  const adapter = adapterForHost(page.hostname);
  if (!adapter) throw new Error(`no adapter for ${page.hostname}`);
  let clock = T0;
  let counter = 0;
  const ctx = {
    now: () => (clock += 1000),
    ulids: new UlidFactory((n) => Uint8Array.from({ length: n }, (_, i) => (counter++ * 7 + i * 13) % 256)),
    signer: { keyId: DEVICE, sign: async () => new Uint8Array(64) },
  };
  const records: StampRecord[] = [];
  const drift: string[] = [];
  const heads = new Map<string, ChainHead>();
  const memories = new Map<string, SessionMemory>();
  const canned = (url: string): Canned => {
    const c = fx.responses?.[url];
    if (!c) throw new Error(`fixture has no response for ${url}`);
    return c;
  };
  const fetchImage = async (ref: ImageRef): Promise<Attachment> => {
    let url = ref.url;
    if (ref.resolveField) url = (JSON.parse(canned(url).text ?? "{}") as { [k: string]: string })[ref.resolveField] ?? "";
    const c = canned(url);
    const bytes = Buffer.from(c.base64 ?? "", "base64");
    const u = new URL(url);
    return { digest: await digestBytes(bytes), media_type: c.contentType, bytes: bytes.length, role: ref.role ?? "output",
      source_url: u.origin + u.pathname };
  };
  const state: PageState = new Map();
  let identity: SiteIdentity | undefined;
  const ids = () => ctx.ulids.next(clock);
  const handle = async (observations: Observation[], depth: number): Promise<void> => {
    for (const o of observations) {
      if (o.kind === "drift") drift.push(o.reason);
      else if (o.kind === "identity") identity = o.identity;
      else if (o.kind === "reconcile") {
        const method = o.method ?? "GET";
        const c = fx.responses?.[method === "GET" ? o.url : `${method} ${o.url}`];
        if (c && depth === 0) {
          const ex: Exchange = { url: o.url, method, status: 200, responseText: c.text ?? "", requestBody: o.body };
          await handle(adapter.parse(ex, state), depth + 1);
        }
      } else {
        const key = o.snapshot.sessionId;
        const { drafts, memory } = diffSnapshot(adapter.id, adapterTag(adapter), o.snapshot, memories.get(key) ?? emptyMemory(),
          { identity, ids });
        memories.set(key, memory);
        for (const d of drafts) {
          const attachments = await Promise.all((d.images ?? []).map(fetchImage));
          const sealed = await seal(d, attachments, heads.get(key) ?? { seq: 0, last: null }, ctx);
          heads.set(key, sealed.head);
          records.push(sealed.envelope.record);
        }
      }
    }
  };
  for (const ex of fx.exchanges.slice(0, upTo)) await handle(adapter.parse(ex, state), 0);
  let dom: DomHealth | undefined;
  if (fx.html) {
    const { document } = parseHTML(readFileSync(new URL(fx.html, FIXTURES), "utf8"));
    dom = adapter.probeDom(document as unknown as Document, page);
  }
  return { description: fx.description, records, drift, dom };
}
