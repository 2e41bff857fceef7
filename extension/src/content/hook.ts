/**
 * MAIN-world hook, injected at document_start before any page script. It wraps fetch,
 * XMLHttpRequest and WebSocket, reads clones of the responses (and the incoming text frames of the
 * sockets) the page's adapter cares about, and hands them to the isolated content script over a
 * private MessageChannel. It never rewrites a request, a response or a frame: the page gets exactly
 * what it would get without us.
 *
 * Limit (stated in the evidence model): code in the page's world is visible to the page, which
 * could feed it fabricated traffic. The isolated world checks origin, source and a per-page nonce.
 */
import { adapterForHost } from "../adapters/registry.ts";

const HELLO = "promptstamp-hook-hello";
/** The isolated script asks for the hello when it starts after it was sent (Firefox may run it later). */
const READY = "promptstamp-capture-ready";
const MAX_QUEUED = 200;
const MAX_BODY = 20 * 1024 * 1024;

(() => {
  const adapter = adapterForHost(location.hostname);
  if (!adapter) return;
  const nonceBytes = new Uint8Array(16);
  crypto.getRandomValues(nonceBytes);
  const nonce = Array.from(nonceBytes, (b) => b.toString(16).padStart(2, "0")).join("");
  // Exchanges wait here until the isolated script acknowledges a channel: a hello sent before it
  // listened is lost, so it asks again (READY) and gets a fresh channel.
  let port: MessagePort | undefined;
  const queued: unknown[] = [];
  function hello(): void {
    const channel = new MessageChannel();
    channel.port1.onmessage = (e: MessageEvent) => {
      const ack: unknown = e.data;
      if (port || typeof ack !== "object" || ack === null || (ack as { ack?: unknown }).ack !== nonce) return;
      port = channel.port1;
      for (const m of queued.splice(0)) port.postMessage(m);
    };
    window.postMessage({ type: HELLO, nonce }, location.origin, [channel.port2]);
  }
  window.addEventListener("message", (event: MessageEvent) => {
    const data: unknown = event.data;
    if (!port && event.source === window && typeof data === "object" && data !== null &&
      (data as { type?: unknown }).type === READY) hello();
  });
  hello();

  const wanted = (url: string) => adapter.capture.some((re) => re.test(url));
  const wantedWs = (url: string) => (adapter.captureWs ?? []).some((re) => re.test(url));
  const authNames = (adapter.authHeaders ?? []).map((n) => n.toLowerCase());
  const readNames = (adapter.requestHeaders ?? []).map((n) => n.toLowerCase());

  type Picked = { [name: string]: string };
  function post(ex: { url: string; method: string; status: number; requestBody?: string; responseText: string;
    contentType?: string; headers: Picked; requestHeaders?: Picked }): void {
    if (ex.responseText.length > MAX_BODY) return;
    if (port) port.postMessage({ nonce, exchange: ex });
    else if (queued.length < MAX_QUEUED) queued.push({ nonce, exchange: ex });
  }

  function pick(h: HeadersInit | undefined, names: readonly string[]): Picked {
    const out: Picked = {};
    if (!h || !names.length) return out;
    const headers = new Headers(h);
    for (const name of names) {
      const v = headers.get(name);
      if (v) out[name] = v;
    }
    return out;
  }
  const pickHeaders = (h: HeadersInit | undefined) => pick(h, authNames);

  const originalFetch = window.fetch;
  const hooked = function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    // Call the original with window as receiver: Chromium throws "Illegal invocation" otherwise.
    const promise = originalFetch.call(window, input, init);
    let url: string;
    try {
      url = input instanceof Request ? input.url : new URL(String(input), location.href).href;
      if (!wanted(url)) return promise;
    } catch {
      return promise; // never let capture break the page
    }
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const headers = { ...pickHeaders(input instanceof Request ? input.headers : undefined), ...pickHeaders(init?.headers) };
    const requestHeaders = { ...pick(input instanceof Request ? input.headers : undefined, readNames), ...pick(init?.headers, readNames) };
    const bodyPromise: Promise<string | undefined> = typeof init?.body === "string"
      ? Promise.resolve(init.body)
      : input instanceof Request && method !== "GET" ? input.clone().text().catch(() => undefined)
        : Promise.resolve(undefined);
    // Clone before the page sees the response (it may read the body at once); hand the page the
    // very same Response object, unchanged.
    return promise.then((res) => {
      try {
        const copy = res.clone();
        void (async () => {
          const requestBody = await bodyPromise;
          const responseText = await copy.text();
          post({ url, method, status: res.status, requestBody, responseText,
            contentType: res.headers.get("content-type") ?? undefined, headers, requestHeaders });
        })().catch(() => undefined);
      } catch {
        // a body that cannot be cloned is simply not captured
      }
      return res;
    });
  };
  window.fetch = hooked as typeof window.fetch;

  const xhrOpen = XMLHttpRequest.prototype.open;
  const xhrSend = XMLHttpRequest.prototype.send;
  const xhrSetHeader = XMLHttpRequest.prototype.setRequestHeader;
  const meta = new WeakMap<XMLHttpRequest, { method: string; url: string; headers: Picked; requestHeaders: Picked }>();
  XMLHttpRequest.prototype.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
    try {
      meta.set(this, { method: method.toUpperCase(), url: new URL(String(url), location.href).href, headers: {}, requestHeaders: {} });
    } catch {
      // ignore
    }
    return (xhrOpen as (...a: unknown[]) => void).call(this, method, url, ...rest);
  } as typeof XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.setRequestHeader = function (this: XMLHttpRequest, name: string, value: string) {
    const m = meta.get(this);
    if (m && authNames.includes(name.toLowerCase())) m.headers[name.toLowerCase()] = value;
    if (m && readNames.includes(name.toLowerCase())) m.requestHeaders[name.toLowerCase()] = value;
    return xhrSetHeader.call(this, name, value);
  };
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    const m = meta.get(this);
    if (m && wanted(m.url)) {
      const requestBody = typeof body === "string" ? body : undefined;
      this.addEventListener("loadend", () => {
        try {
          let responseText: string;
          if (this.responseType === "" || this.responseType === "text") responseText = this.responseText;
          else if (this.responseType === "json") responseText = JSON.stringify(this.response);
          else return;
          post({ url: m.url, method: m.method, status: this.status, requestBody, responseText,
            contentType: this.getResponseHeader("content-type") ?? undefined, headers: m.headers,
            requestHeaders: m.requestHeaders });
        } catch {
          // ignore
        }
      });
    }
    return xhrSend.call(this, body);
  };

  // WebSocket: a listener of our own on sockets the adapter names; the page's own listeners, the
  // frames and the socket object are untouched (a subclass only adds the listener at construction).
  if (adapter.captureWs?.length && typeof window.WebSocket === "function") {
    const Original = window.WebSocket;
    const Hooked = class extends Original {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        let href: string;
        try {
          href = new URL(String(url), location.href).href;
        } catch {
          return;
        }
        if (!wantedWs(href)) return;
        this.addEventListener("message", (event: MessageEvent) => {
          if (typeof event.data !== "string") return; // binary frames carry no conversation text
          try {
            post({ url: href, method: "WS", status: 101, responseText: event.data, headers: {} });
          } catch {
            // never let capture break the page
          }
        });
      }
    };
    Object.defineProperty(Hooked, "name", { value: "WebSocket" });
    window.WebSocket = Hooked;
  }
})();
