/**
 * Isolated-world content script: receives the hook's exchanges, runs the site's adapter on them,
 * re-fetches the conversation after each finished turn, watches the DOM as a drift canary, and
 * sends typed observations to the background, which alone records.
 */
import { adapterForHost } from "../adapters/registry.ts";
import type { DomHealth, Exchange, Observation, PageState } from "../adapters/types.ts";
import { isObj } from "../adapters/util.ts";
import { ext, send } from "../core/messages.ts";

const HELLO = "promptstamp-hook-hello";
const READY = "promptstamp-capture-ready";
/** Re-read the saved conversation now, and later for asynchronous results (types.ts, "reconcile"). */
const DEFAULT_DELAYS = [0, 8000, 25000];
/** How long the page's own traffic has to show who is signed in before the adapter asks. */
const IDENTITY_WAIT_MS = 6000;

function stringMap(v: unknown): { [name: string]: string } | undefined {
  if (!isObj(v)) return undefined;
  const out: { [name: string]: string } = {};
  for (const [k, s] of Object.entries(v)) if (typeof s === "string") out[k] = s;
  return Object.keys(out).length ? out : undefined;
}

(() => {
  const found = adapterForHost(location.hostname);
  if (!found) return;
  const adapter = found;
  const site = adapter.id;
  let enabled: boolean | undefined;
  const backlog: Exchange[] = [];
  const headers: { [name: string]: string } = {};
  const reconciled = new Map<string, number>();
  const state: PageState = new Map();

  type Reconcile = Extract<Observation, { kind: "reconcile" }>;
  let identitySeen = false;

  async function observe(observations: Observation[]): Promise<void> {
    const followUps = observations.filter((o): o is Reconcile => o.kind === "reconcile");
    const rest = observations.filter((o) => o.kind !== "reconcile");
    if (rest.some((o) => o.kind === "identity")) identitySeen = true;
    if (rest.length) {
      await send({ kind: "observe", site, pageUrl: location.href, observations: rest, headers: { ...headers } });
    }
    for (const f of followUps) {
      // Active reconciliation: the canonical tree now, and again later for slow (async) results.
      for (const delay of f.delays ?? DEFAULT_DELAYS) setTimeout(() => void reconcile(f), delay);
    }
  }

  /** The site's own request headers for a re-read (its auth headers), and a content type for a POST body. */
  function readHeaders(body: string | undefined): { [name: string]: string } {
    const out: { [name: string]: string } = { ...headers };
    if (body !== undefined && !Object.keys(out).some((k) => k.toLowerCase() === "content-type")) {
      out["content-type"] = /^\s*[[{]/.test(body) ? "application/json" : "application/x-www-form-urlencoded;charset=UTF-8";
    }
    return out;
  }

  async function reconcile(f: Reconcile): Promise<void> {
    const method = f.method ?? "GET";
    // Debounced per request: several finished turns (or legs of one) ask for the same re-read at once.
    const key = `${method} ${f.url} ${f.body ?? ""}`;
    const last = reconciled.get(key) ?? 0;
    if (Date.now() - last < 1500) return;
    reconciled.set(key, Date.now());
    try {
      const body = method === "POST" ? f.body : undefined;
      const res = await fetch(f.url, { method, credentials: "include", headers: readHeaders(body), body });
      const responseText = await res.text();
      const ex: Exchange = { url: f.url, method, status: res.status, responseText, requestBody: body,
        contentType: res.headers.get("content-type") ?? undefined };
      await observe(adapter.parse(ex, state).filter((o) => o.kind !== "reconcile"));
    } catch {
      // The page's own traffic is still captured; a failed re-fetch loses nothing.
    }
  }

  /** Ask the site who is signed in, once per page, when its own traffic has not said so. */
  async function askIdentity(): Promise<void> {
    if (identitySeen || !enabled || !adapter.identityRequest) return;
    const req = adapter.identityRequest(location.origin);
    if (!req) return;
    identitySeen = true; // once per page, whatever the answer
    try {
      const body = req.method === "POST" ? req.body : undefined;
      const res = await fetch(req.url, { method: req.method, credentials: "include", headers: readHeaders(body), body });
      const ex: Exchange = { url: req.url, method: req.method, status: res.status, responseText: await res.text(),
        requestBody: body, contentType: res.headers.get("content-type") ?? undefined };
      await observe(adapter.parse(ex, state).filter((o) => o.kind === "identity"));
    } catch {
      // no identity record: the session's records still stand; the site's next traffic may show it
    }
  }

  function handle(ex: Exchange): void {
    if (enabled === undefined) {
      backlog.push(ex);
      return;
    }
    if (!enabled) return;
    void observe(adapter.parse(ex, state));
  }

  let port: MessagePort | undefined;
  let nonce: string | undefined;
  window.addEventListener("message", (event: MessageEvent) => {
    if (port || event.source !== window || event.origin !== location.origin) return;
    const data: unknown = event.data;
    if (!isObj(data) || data.type !== HELLO || typeof data.nonce !== "string" || !event.ports[0]) return;
    nonce = data.nonce;
    port = event.ports[0];
    port.postMessage({ ack: nonce }); // the hook sends what it queued, then everything on this channel
    port.onmessage = (e: MessageEvent) => {
      const msg: unknown = e.data;
      if (!isObj(msg) || msg.nonce !== nonce || !isObj(msg.exchange)) return;
      const x = msg.exchange;
      if (typeof x.url !== "string" || typeof x.method !== "string" || typeof x.status !== "number" ||
        typeof x.responseText !== "string") return;
      // Page traffic is same-origin; WebSocket frames come from the sockets the adapter names.
      const ws = x.method === "WS" && (adapter.captureWs ?? []).some((re) => re.test(String(x.url)));
      if (!ws && new URL(x.url).origin !== location.origin) return;
      if (isObj(x.headers)) {
        for (const [k, v] of Object.entries(x.headers)) if (typeof v === "string") headers[k] = v;
      }
      handle({
        url: x.url, method: x.method, status: x.status, responseText: x.responseText,
        requestBody: typeof x.requestBody === "string" ? x.requestBody : undefined,
        contentType: typeof x.contentType === "string" ? x.contentType : undefined,
        requestHeaders: stringMap(x.requestHeaders),
      });
    };
  });

  window.postMessage({ type: READY }, location.origin);

  void send({ kind: "siteEnabled", site }).then((r) => {
    enabled = r.enabled;
    for (const ex of backlog.splice(0)) handle(ex);
    setTimeout(() => void askIdentity(), IDENTITY_WAIT_MS);
  });
  ext.storage.onChanged.addListener(() => {
    void send({ kind: "siteEnabled", site }).then((r) => (enabled = r.enabled));
  });

  // The DOM canary: checked when the page settles and whenever it changes (debounced).
  let lastHealth = "";
  let lastUrl = "";
  function probe(): void {
    let health: DomHealth;
    try {
      health = adapter.probeDom(document, new URL(location.href));
    } catch (e) {
      health = { state: "drift", reason: `DOM check failed: ${String(e)}` };
    }
    const key = `${location.href}|${health.state}|${health.reason ?? ""}|${health.turns ?? ""}`;
    if (key === lastHealth) return;
    lastHealth = key;
    void send({ kind: "health", site, pageUrl: location.href, health });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(probe, ms);
  };
  const start = () => {
    schedule(1500);
    new MutationObserver(() => schedule(1500)).observe(document.body, { childList: true, subtree: true });
    // Single-page navigation changes the URL without a load: notice it.
    setInterval(() => {
      if (location.href !== lastUrl) {
        lastUrl = location.href;
        schedule(1500);
      }
    }, 1000);
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
