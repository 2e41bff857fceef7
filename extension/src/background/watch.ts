/**
 * The capture-gap checks (core/watch.ts) kept running: their state is in extension storage, checked
 * on an alarm (which survives the service worker sleeping) and on a timer for the nearest deadline
 * while the worker is awake. Each gap becomes a `drift` record in the session's chain, which the
 * service counts, and a badge and a line in the popup on the tab.
 */
import { adapterForHost, adapterForSite } from "../adapters/registry.ts";
import { adapterTag, type DriftCode } from "../adapters/types.ts";
import { DRIFT_LABEL, driftDraft, type DriftFact } from "../core/drift.ts";
import { ext, type CaptureGap } from "../core/messages.ts";
import type { Draft, SiteId } from "../core/record.ts";
import {
  afterPageCount, afterRecording, DEFAULT_TIMINGS, dueAt, emptyWatch, forgetTab, nextCheck,
  type OpenTurn, type WatchState, type WatchTimings,
} from "../core/watch.ts";
import { get, sessionKey, type SessionItem } from "./db.ts";
import { recordUserStep } from "./recorder.ts";
import { badgeGap, setTabState, tabState } from "./tabs.ts";

export const WATCH_ALARM = "capture-watch";
const STATE_KEY = "watch";
/** Operators (and the end-to-end tests) may shorten the checks' times: `watchTimings` in local storage. */
const TIMINGS_KEY = "watchTimings";
const MAX_GAPS_PER_TAB = 20;

let chain: Promise<unknown> = Promise.resolve();
/** One change to the watch state at a time: observations and alarms arrive together. */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.catch(() => undefined).then(fn);
  chain = run;
  return run;
}

async function timings(): Promise<WatchTimings> {
  const got = (await ext.storage.local.get(TIMINGS_KEY)) as { [TIMINGS_KEY]?: Partial<WatchTimings> };
  const o = got[TIMINGS_KEY] ?? {};
  return { ...DEFAULT_TIMINGS, ...o, noAnswerMs: { ...DEFAULT_TIMINGS.noAnswerMs, ...(o.noAnswerMs ?? {}) } };
}

async function load(): Promise<WatchState> {
  const got = (await ext.storage.local.get(STATE_KEY)) as { [STATE_KEY]?: WatchState };
  return got[STATE_KEY] ?? emptyWatch();
}

let timer: ReturnType<typeof setTimeout> | undefined;

async function save(state: WatchState, t: WatchTimings): Promise<void> {
  await ext.storage.local.set({ [STATE_KEY]: state });
  if (timer) clearTimeout(timer);
  const next = nextCheck(state, t);
  if (next !== undefined) timer = setTimeout(() => void checkWatch(), Math.max(250, next - Date.now() + 50));
}

/** Record the gap in the session (when there is one), badge the tab and list it for the popup. */
async function raise(site: string, sessionId: string | undefined, tabId: number | undefined, fact: DriftFact): Promise<void> {
  const adapter = adapterForSite(site);
  const tag = adapter ? adapterTag(adapter) : site;
  let recordId: string | undefined;
  if (sessionId) {
    const item = await get<SessionItem>("sessions", sessionKey(site, sessionId));
    const session = { site, id: sessionId, ...(item?.url ? { url: item.url } : {}), ...(item?.title ? { title: item.title } : {}) };
    recordId = await recordUserStep(site, sessionId, driftDraft(session, tag, fact));
  }
  if (tabId === undefined) return;
  const state = (await tabState(tabId)) ?? { site: site as SiteId, pageUrl: fact.pageUrl ?? "" };
  const gap: CaptureGap = { code: fact.code, text: `${DRIFT_LABEL[fact.code]}: ${fact.detail}`, at: new Date().toISOString(),
    ...(recordId ? { recordId } : {}) };
  const gaps = [...(state.gaps ?? []), gap].slice(-MAX_GAPS_PER_TAB);
  await setTabState(tabId, { ...state, gaps });
  await badgeGap(tabId, gap, gaps.length);
}

/** After a snapshot was recorded: open turns for new prompts, close the ones answered. */
export function watchRecorded(site: string, sessionId: string, drafts: Draft[], tabId?: number, pageUrl?: string): Promise<void> {
  const adapter = adapterForSite(site);
  if (!adapter) return Promise.resolve();
  return serial(async () => {
    const t = await timings();
    const state = afterRecording(await load(), drafts, { site, sessionId, adapter: adapterTag(adapter), now: Date.now(), tabId, pageUrl }, t);
    await save(state, t);
  });
}

/** The page's count of turns (DomHealth.turns) against what the session recorded. */
export function watchPage(site: string, tabId: number, pageUrl: string, shown: number | undefined): Promise<void> {
  const adapter = adapterForSite(site);
  if (!adapter) return Promise.resolve();
  return serial(async () => {
    const t = await timings();
    let state = await load();
    const sessionId = adapter.sessionFromUrl(new URL(pageUrl)) ?? (await tabState(tabId))?.sessionId;
    if (shown === undefined || !sessionId) state = forgetTab(state, tabId);
    else {
      const recorded = await recordedMessages(site, sessionId);
      state = afterPageCount(state, { site, sessionId, adapter: adapterTag(adapter), tabId, pageUrl, shown, recorded }, Date.now());
    }
    await save(state, t);
  });
}

async function recordedMessages(site: string, sessionId: string): Promise<number> {
  const item = await get<SessionItem>("sessions", sessionKey(site, sessionId));
  return Object.keys(item?.memory.messages ?? {}).length;
}

/** The conversations the open tabs show, as "site\0id", and as "tabId\0site\0id" per tab. */
async function shownSessions(): Promise<Set<string>> {
  const shown = new Set<string>();
  for (const tab of await ext.tabs.query({})) {
    if (tab.id === undefined || !tab.url) continue;
    let url: URL;
    try {
      url = new URL(tab.url);
    } catch {
      continue;
    }
    const adapter = adapterForHost(url.hostname);
    if (!adapter) continue;
    const id = adapter.sessionFromUrl(url) ?? (await tabState(tab.id))?.sessionId;
    if (id) {
      shown.add(sessionKey(adapter.id, id));
      shown.add(`${tab.id}\u0000${sessionKey(adapter.id, id)}`);
    }
  }
  return shown;
}

function noAnswerFact(t: OpenTurn, waited: number): DriftFact {
  const minutes = Math.max(1, Math.round(waited / 60_000));
  return { code: "no-answer", messageId: t.messageId, pageUrl: t.pageUrl,
    detail: `Prompt ${t.messageId} (awaiting ${t.awaits}) has no recorded answer after ${minutes} min (adapter ${t.adapter}).` };
}

/** Raise what is due. Called on the alarm and by the timer. */
export function checkWatch(): Promise<void> {
  return serial(async () => {
    const t = await timings();
    const before = await load();
    if (!before.turns.length && !Object.keys(before.pages).length) return;
    const shown = await shownSessions();
    const counts = new Map<string, number>();
    for (const g of Object.values(before.pages)) counts.set(sessionKey(g.site, g.sessionId), await recordedMessages(g.site, g.sessionId));
    const now = Date.now();
    const { due, state } = dueAt(before, now, {
      shownSomewhere: (turn) => shown.has(sessionKey(turn.site, turn.sessionId)),
      recorded: (g) => counts.get(sessionKey(g.site, g.sessionId)) ?? 0,
      tabShows: (g) => shown.has(`${g.tabId}\u0000${sessionKey(g.site, g.sessionId)}`),
    }, t);
    await save(state, t);
    for (const turn of due.noAnswer) await raise(turn.site, turn.sessionId, turn.tabId, noAnswerFact(turn, now - turn.since));
    for (const g of due.pageAhead) {
      const n = counts.get(sessionKey(g.site, g.sessionId)) ?? g.recorded;
      await raise(g.site, g.sessionId, g.tabId, { code: "page-ahead", pageUrl: g.pageUrl,
        detail: `The page shows ${g.shown} turns; ${n} ${n === 1 ? "message was" : "messages were"} recorded (adapter ${g.adapter}).` });
    }
  });
}

/**
 * An adapter's own drift observation: recorded once per tab, conversation, code and reason (the
 * same unknown shape is seen on every re-read), and shown at once.
 */
export async function adapterDrift(site: string, tabId: number | undefined, pageUrl: string, reason: string,
  code: DriftCode = "unknown-shape", sessionId?: string): Promise<void> {
  const adapter = adapterForSite(site);
  const state = tabId === undefined ? undefined : await tabState(tabId);
  const fromUrl = adapter?.sessionFromUrl(new URL(pageUrl)) ?? undefined;
  const session = sessionId ?? fromUrl ?? state?.sessionId;
  const key = `${session ?? ""}|${code}|${reason}`;
  if (state?.raised?.includes(key)) return;
  if (tabId !== undefined) {
    await setTabState(tabId, { ...(state ?? { site: site as SiteId, pageUrl }), raised: [...(state?.raised ?? []), key].slice(-50) });
  }
  await raise(site, session, tabId, { code, pageUrl, detail: reason });
}
