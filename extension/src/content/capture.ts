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

  async function observe(observations: Observation[]): Promise<void> {
    const followUps = observations.filter((o): o is Extract<Observation, { kind: "reconcile" }> => o.kind === "reconcile");
    const rest = observations.filter((o) => o.kind !== "reconcile");
    if (rest.length) {
      await send({ kind: "observe", site, pageUrl: location.href, observations: rest, headers: { ...headers } });
    }
    for (const f of followUps) {
      // Active reconciliation: the canonical tree now, and again later for slow (async) images.
      for (const delay of [0, 8000, 25000]) setTimeout(() => void reconcile(f.url), delay);
    }
  }

  async function reconcile(url: string): Promise<void> {
    const last = reconciled.get(url) ?? 0;
    if (Date.now() - last < 1500) return;
    reconciled.set(url, Date.now());
    try {
      const res = await fetch(url, { credentials: "include", headers: { ...headers } });
      const responseText = await res.text();
      const ex: Exchange = { url, method: "GET", status: res.status, responseText };
      await observe(adapter.parse(ex, state).filter((o) => o.kind !== "reconcile"));
    } catch {
      // The page's own traffic is still captured; a failed re-fetch loses nothing.
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
    port.onmessage = (e: MessageEvent) => {
      const msg: unknown = e.data;
      if (!isObj(msg) || msg.nonce !== nonce || !isObj(msg.exchange)) return;
      const x = msg.exchange;
      if (typeof x.url !== "string" || typeof x.method !== "string" || typeof x.status !== "number" ||
        typeof x.responseText !== "string") return;
      if (new URL(x.url).origin !== location.origin) return;
      if (isObj(x.headers)) {
        for (const [k, v] of Object.entries(x.headers)) if (typeof v === "string") headers[k] = v;
      }
      handle({
        url: x.url, method: x.method, status: x.status, responseText: x.responseText,
        requestBody: typeof x.requestBody === "string" ? x.requestBody : undefined,
        contentType: typeof x.contentType === "string" ? x.contentType : undefined,
      });
    };
  });

  void send({ kind: "siteEnabled", site }).then((r) => {
    enabled = r.enabled;
    for (const ex of backlog.splice(0)) handle(ex);
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
    const key = `${location.href}|${health.state}|${health.reason ?? ""}`;
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
