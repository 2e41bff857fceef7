/**
 * The background (service worker in Chromium, event page in Firefox): the only part that records,
 * signs, stores and uploads. Content scripts and the popup talk to it with typed messages.
 */
import { adapterForHost, adapterForSite } from "../adapters/registry.ts";
import type { SiteIdentity } from "../adapters/types.ts";
import { ext, type Request, type ResponseFor, type TabStatus } from "../core/messages.ts";
import { compact, refsOf, type Draft } from "../core/record.ts";
import { checkToken } from "../core/pairing.ts";
import { Api } from "./api.ts";
import { byIndex, countByIndex, get, sessionKey, type OutboxItem, type SessionItem } from "./db.ts";
import { deviceKey, deviceSigner } from "./devicekey.ts";
import { explainPairError, forgetAccount, learnAccount, pairingState } from "./pairing.ts";
import { MENU_IMAGE, MENU_SELECTION, originsNeeded, stampFromPage } from "./pagestamp.ts";
import { recordIdentity, recordSnapshot, recordUserStep, setOnRecorded } from "./recorder.ts";
import { loadSettings, loadStatus, reportError, saveSettings, updateStatus } from "./settings.ts";
import { clearBadge, forgetTabState, setTabState, tabState } from "./tabs.ts";
import { flush } from "./uploader.ts";
import { adapterDrift, checkWatch, WATCH_ALARM, watchPage, watchRecorded } from "./watch.ts";

/** Who is signed in on each site, as the page's traffic (or the adapter's identity request) showed it. */
const identityKey = (site: string) => `identity:${site}`;

async function siteIdentity(site: string): Promise<SiteIdentity | undefined> {
  const got = (await ext.storage.session.get(identityKey(site))) as { [k: string]: SiteIdentity | undefined };
  return got[identityKey(site)];
}

async function siteEnabled(site: string): Promise<boolean> {
  const s = await loadSettings();
  return !s.paused && s.sites[site] !== false;
}

let flushTimer: ReturnType<typeof setTimeout> | undefined;
setOnRecorded(() => {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = setTimeout(() => void flush(true), 300);
});

/** The session a tab is showing: from its address, else from the last snapshot it delivered. */
async function sessionForTab(tabId: number): Promise<{ site: string; id: string; url?: string; title?: string } | undefined> {
  const tab = await ext.tabs.get(tabId);
  if (!tab.url) return undefined;
  const url = new URL(tab.url);
  const adapter = adapterForHost(url.hostname);
  if (!adapter) return undefined;
  const state = await tabState(tabId);
  const id = adapter.sessionFromUrl(url) ?? state?.sessionId;
  if (!id) return undefined;
  const session = await get<SessionItem>("sessions", sessionKey(adapter.id, id));
  return compact({ site: adapter.id, id, url: session?.url ?? tab.url, title: session?.title ?? tab.title });
}

async function tabStatus(tabId: number): Promise<TabStatus> {
  const settings = await loadSettings();
  const status = await loadStatus();
  const totalQueued = await countByIndex("outbox", "state", "queued");
  const base: TabStatus = {
    enabled: false, paused: settings.paused, paired: Boolean(status.registeredKey && settings.token),
    serverUrl: settings.serverUrl, health: "idle", counts: { stamped: 0, pending: 0, queued: 0, rejected: 0 },
    totalQueued, lastError: status.lastError, lastUploadAt: status.lastUploadAt, outputs: [], gaps: [],
  };
  let tab: chrome.tabs.Tab;
  try {
    tab = await ext.tabs.get(tabId);
  } catch {
    return base;
  }
  const adapter = tab.url ? adapterForHost(new URL(tab.url).hostname) : undefined;
  if (!adapter) return base;
  const state = await tabState(tabId);
  const out: TabStatus = {
    ...base, site: adapter.id, siteName: adapter.name, adapter: `${adapter.id}@${adapter.version}`,
    enabled: await siteEnabled(adapter.id), gaps: state?.gaps ?? [],
  };
  if (state?.trafficDrift) {
    out.health = "drift";
    out.healthReason = state.trafficDrift;
  } else if (state?.dom) {
    out.health = state.dom.state;
    out.healthReason = state.dom.reason;
  }
  const session = await sessionForTab(tabId);
  if (session) {
    out.sessionId = session.id;
    out.title = session.title;
    const key = sessionKey(session.site, session.id);
    for (const item of await byIndex<OutboxItem>("outbox", "session", key)) out.counts[item.state]++;
    out.outputs = (await get<SessionItem>("sessions", key))?.outputs ?? [];
  }
  return out;
}

async function userStep(tabId: number, make: (s: { site: string; id: string; url?: string; title?: string }) => Draft): Promise<ResponseFor["addNote"]> {
  const session = await sessionForTab(tabId);
  if (!session) return { ok: false, error: "this tab shows no conversation to add a step to" };
  await recordUserStep(session.site, session.id, make(session));
  return { ok: true };
}

async function pair(serverUrl: string, token: string, deviceName: string): Promise<ResponseFor["pair"]> {
  let base: URL;
  try {
    base = new URL(serverUrl);
  } catch {
    return { ok: false, error: `not a URL: ${serverUrl}` };
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") return { ok: false, error: "the server URL must be http(s)" };
  const checked = checkToken(token);
  if (!checked.ok) return { ok: false, error: checked.error };
  const url = base.origin + base.pathname.replace(/\/+$/, "");
  const api = new Api(url, token);
  try {
    await api.health();
    const device = await deviceKey();
    const signer = await deviceSigner();
    const key = await api.registerDevice(device.publicKey, deviceName || "browser", (data) => signer.sign(data));
    if (key !== device.keyId) {
      return { ok: false, error: `the server names this device ${key}, but its key id is ${device.keyId}` };
    }
    await saveSettings({ serverUrl: url, token, deviceName });
    await updateStatus({ registeredKey: key, registeredServer: url, tokenRefused: undefined });
    await learnAccount(api);
    await reportError(undefined);
    void flush(true);
    return { ok: true, keyId: key };
  } catch (e) {
    return { ok: false, error: explainPairError(e, base.host) };
  }
}

async function handle(msg: Request, sender: chrome.runtime.MessageSender): Promise<unknown> {
  switch (msg.kind) {
    case "observe": {
      const tabId = sender.tab?.id;
      if (!(await siteEnabled(msg.site))) return { ok: true };
      const pageOrigin = new URL(msg.pageUrl).origin;
      for (const o of msg.observations) {
        if (o.kind === "drift") {
          if (tabId !== undefined) {
            const state = (await tabState(tabId)) ?? { site: msg.site, pageUrl: msg.pageUrl };
            await setTabState(tabId, { ...state, trafficDrift: o.reason });
          }
          await adapterDrift(msg.site, tabId, msg.pageUrl, o.reason, o.code ?? "unknown-shape", o.sessionId);
        } else if (o.kind === "identity") {
          await ext.storage.session.set({ [identityKey(msg.site)]: o.identity });
          const sessionId = tabId === undefined ? undefined : (await tabState(tabId))?.sessionId;
          if (sessionId) await recordIdentity(msg.site, sessionId, o.identity);
        } else if (o.kind === "snapshot") {
          if (tabId !== undefined) {
            const state = (await tabState(tabId)) ?? { site: msg.site, pageUrl: msg.pageUrl };
            await setTabState(tabId, { ...state, sessionId: o.snapshot.sessionId, title: o.snapshot.title ?? state.title });
          }
          const drafts = await recordSnapshot(msg.site, o.snapshot, msg.headers, pageOrigin, await siteIdentity(msg.site));
          await watchRecorded(msg.site, o.snapshot.sessionId, drafts, tabId, msg.pageUrl);
        }
      }
      return { ok: true };
    }
    case "health": {
      const tabId = sender.tab?.id;
      if (tabId === undefined) return { ok: true };
      const state = (await tabState(tabId)) ?? { site: msg.site, pageUrl: msg.pageUrl };
      await setTabState(tabId, { ...state, pageUrl: msg.pageUrl, dom: msg.health });
      if (msg.health.state === "drift" && msg.health.reason) {
        await adapterDrift(msg.site, tabId, msg.pageUrl, msg.health.reason, "dom");
      }
      if (await siteEnabled(msg.site)) await watchPage(msg.site, tabId, msg.pageUrl, msg.health.turns);
      return { ok: true };
    }
    case "siteEnabled":
      return { enabled: await siteEnabled(msg.site) };
    case "tabStatus":
      return tabStatus(msg.tabId);
    case "markChosen": {
      const session = await sessionForTab(msg.tabId);
      if (!session) return { ok: false, error: "this tab shows no conversation to add a step to" };
      const item = await get<SessionItem>("sessions", sessionKey(session.site, session.id));
      const choice = item?.outputs.find((o) => o.recordId === msg.recordId);
      const chosen = await get<OutboxItem>("outbox", msg.recordId);
      if (!choice || !chosen) return { ok: false, error: "that output is not recorded in this session" };
      const img = msg.imageIndex === undefined ? undefined : choice.images[msg.imageIndex];
      if (msg.imageIndex !== undefined && !img) return { ok: false, error: `the output has no image ${msg.imageIndex + 1}` };
      // The selection names the chosen record by id and by digest, so it cannot be re-pointed.
      await recordUserStep(session.site, session.id, compact({
        type: "selection", actor: "user", session,
        refs: refsOf({ record_id: choice.recordId, record: chosen.digest, message_id: choice.messageId }),
        params: img ? { image_index: msg.imageIndex ?? 0 } : undefined,
      } satisfies Draft), img ? [{ digest: img.digest, media_type: img.mediaType, bytes: img.bytes, role: "selected" }] : []);
      return { ok: true };
    }
    case "addNote": {
      const text = msg.text.trim();
      if (!text) return { ok: false, error: "the note is empty" };
      return userStep(msg.tabId, (session) => ({ type: "note", actor: "user", session, text }));
    }
    case "flush":
      await flush(true);
      return { ok: true };
    case "pair":
      return pair(msg.serverUrl, msg.token, msg.deviceName);
    case "unpair":
      await saveSettings({ token: "" });
      // The forgotten token's problems go with it.
      await updateStatus({ registeredKey: undefined, registeredServer: undefined, tokenRefused: undefined, lastError: undefined, lastErrorAt: undefined });
      await forgetAccount();
      return { ok: true };
    case "getSettings":
      return loadSettings();
    case "saveSettings":
      await saveSettings(compact({ paused: msg.paused, sites: msg.sites }));
      return { ok: true };
    case "deviceInfo": {
      const d = await deviceKey();
      const status = await loadStatus();
      return { keyId: d.keyId, publicKey: d.publicKey, registered: status.registeredKey === d.keyId };
    }
    case "pairingState":
      return pairingState();
  }
}

// Observations are handled strictly in arrival order, so steps are chained in the order they happened.
let observing: Promise<unknown> = Promise.resolve();

ext.runtime.onMessage.addListener((msg: Request, sender, sendResponse) => {
  let work: Promise<unknown>;
  if (msg.kind === "observe" || msg.kind === "health") {
    work = observing.catch(() => undefined).then(() => handle(msg, sender));
    observing = work;
  } else work = handle(msg, sender);
  work.then(sendResponse, (e: unknown) => sendResponse({ ok: false, error: String(e) }));
  return true; // answer asynchronously
});

// User steps from any page: "Stamp selection" / "Stamp image" (generic capture; limits in pagestamp.ts).
function createMenus(): void {
  ext.contextMenus.removeAll(() => {
    ext.contextMenus.create({ id: MENU_SELECTION, title: "Stamp selection", contexts: ["selection"] });
    ext.contextMenus.create({ id: MENU_IMAGE, title: "Stamp image", contexts: ["image"] });
  });
}

ext.contextMenus.onClicked.addListener((info, tab) => {
  // The permission request must come first, synchronously inside the click (a user gesture).
  const needs = originsNeeded(info);
  const granted = needs.length ? ext.permissions.request({ origins: needs }) : Promise.resolve(true);
  const sessionOf = async (t: chrome.tabs.Tab | undefined) =>
    t?.id === undefined ? undefined : sessionForTab(t.id).catch(() => undefined);
  void stampFromPage(info, tab, granted, sessionOf);
});

ext.tabs.onRemoved.addListener((tabId) => void forgetTabState(tabId));
ext.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === "loading" && change.url) {
    void forgetTabState(tabId);
    void clearBadge(tabId);
  }
});

ext.runtime.onInstalled.addListener(() => {
  createMenus();
  void deviceKey(); // made once, at install: records are signed even before pairing
});
ext.runtime.onStartup.addListener(() => {
  createMenus();
  void flush(true);
});
ext.alarms.create("upload", { periodInMinutes: 1 });
// Chromium fires alarms at most every 30 s; the watch also sets a timer for its nearest deadline.
ext.alarms.create(WATCH_ALARM, { periodInMinutes: 0.5 });
ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === "upload") void flush();
  if (alarm.name === WATCH_ALARM) void checkWatch();
});
void flush(true);
void checkWatch();

export { adapterForSite };
