/**
 * Silent loss made loud: the checks that notice a capture gap while the user works.
 *
 * - no-answer: every recorded prompt must get a recorded answer within a time that depends on what
 *   it awaits (an image or a long think takes longer than text). Each turn is judged on its own: an
 *   answer closes the turn of its parent prompt (or, where the site gives no parent ids, the oldest
 *   open turn of the session). A prompt whose page is no longer open is not alarmed then: the next
 *   view of the conversation reads the saved answer, or, a grace period later, the alarm is due.
 * - page-ahead: the page shows more turns than the session recorded, for longer than a grace period,
 *   while no turn of the session is still under way (an answer being written is the no-answer check's).
 * One alarm per gap: a turn is forgotten once alarmed; a page gap alarms again only after it closed.
 *
 * This module is pure: the background keeps the state durable and acts on what is due.
 */
import type { Msg } from "../adapters/types.ts";
import type { Draft } from "./record.ts";

export type Awaits = NonNullable<Msg["awaits"]>;

export interface WatchTimings {
  noAnswerMs: { [kind in Awaits]: number };
  /** How long the page may show more turns than were recorded (a history read is on its way). */
  pageAheadGraceMs: number;
  /** After a conversation whose prompt went unanswered is shown again: time for its history read. */
  revisitGraceMs: number;
  /** A prompt the site dates older than this when first seen is history, not a turn under way. */
  freshPromptMs: number;
}

export const DEFAULT_TIMINGS: WatchTimings = {
  // Text answers take seconds; reasoning models and image tools minutes; video far longer.
  noAnswerMs: { text: 3 * 60_000, thinking: 10 * 60_000, image: 10 * 60_000, video: 30 * 60_000 },
  pageAheadGraceMs: 90_000,
  revisitGraceMs: 60_000,
  freshPromptMs: 10 * 60_000,
};

export interface OpenTurn {
  site: string;
  sessionId: string;
  /** The prompt's site message id. */
  messageId: string;
  adapter: string;
  awaits: Awaits;
  since: number;
  /** When the alarm is due; undefined while no page shows the conversation. */
  deadline?: number;
  tabId?: number;
  pageUrl?: string;
}

export interface PageGap {
  site: string;
  sessionId: string;
  adapter: string;
  tabId: number;
  pageUrl: string;
  shown: number;
  recorded: number;
  since: number;
  alarmed?: boolean;
}

export interface WatchState {
  turns: OpenTurn[];
  pages: { [tabId: string]: PageGap };
}

function without<T>(map: { [key: string]: T }, key: string): { [key: string]: T } {
  return Object.fromEntries(Object.entries(map).filter(([k]) => k !== key));
}

export function emptyWatch(): WatchState {
  return { turns: [], pages: {} };
}

export interface Where {
  site: string;
  sessionId: string;
  adapter: string;
  now: number;
  tabId?: number;
  pageUrl?: string;
}

const PROMPT_TYPES = new Set(["prompt", "edit"]);

function isFresh(d: Draft, now: number, timings: WatchTimings): boolean {
  const created = d.refs?.created_at ? Date.parse(d.refs.created_at) : NaN;
  return Number.isNaN(created) || now - created < timings.freshPromptMs;
}

/** Open a turn for each new prompt, close the turn each answer belongs to; wake dormant turns. */
export function afterRecording(state: WatchState, drafts: Draft[], at: Where, timings: WatchTimings = DEFAULT_TIMINGS): WatchState {
  let turns = state.turns.map((t) => (t.site === at.site && t.sessionId === at.sessionId && t.deadline === undefined
    ? { ...t, deadline: at.now + timings.revisitGraceMs, tabId: at.tabId ?? t.tabId, pageUrl: at.pageUrl ?? t.pageUrl }
    : t));
  const mine = (t: OpenTurn) => t.site === at.site && t.sessionId === at.sessionId;
  for (const d of drafts) {
    if (d.type === "output" && d.messageId) {
      const parent = d.refs?.parent_message_id;
      const exact = turns.findIndex((t) => mine(t) && t.messageId === parent);
      const index = exact >= 0 ? exact : turns.findIndex(mine); // no parent ids: answers come in order
      if (index >= 0) turns = turns.filter((_, i) => i !== index);
    } else if (PROMPT_TYPES.has(d.type) && d.refs?.supersedes === undefined && d.messageId && isFresh(d, at.now, timings)) {
      // A site act such as a Midjourney upscale is recorded as a selection: it is not watched.
      if (turns.some((t) => mine(t) && t.messageId === d.messageId)) continue;
      const awaits = d.awaits ?? "text";
      turns = [...turns, {
        site: at.site, sessionId: at.sessionId, messageId: d.messageId, adapter: at.adapter, awaits, since: at.now,
        deadline: at.now + timings.noAnswerMs[awaits], tabId: at.tabId, pageUrl: at.pageUrl,
      }];
    }
  }
  return { ...state, turns };
}

/** The page's count of turns against the session's recorded messages. */
export function afterPageCount(state: WatchState, gap: Omit<PageGap, "since" | "alarmed">, now: number): WatchState {
  const key = String(gap.tabId);
  const pages = { ...state.pages };
  const prior = pages[key];
  const same = prior && prior.site === gap.site && prior.sessionId === gap.sessionId;
  if (gap.shown <= gap.recorded) {
    return { ...state, pages: without(pages, key) }; // the gap closed: a later one alarms again
  } else {
    pages[key] = { ...gap, since: same ? prior.since : now, alarmed: same ? prior.alarmed : undefined };
  }
  return { ...state, pages };
}

export function forgetTab(state: WatchState, tabId: number): WatchState {
  return { ...state, pages: without(state.pages, String(tabId)) };
}

export interface Due {
  noAnswer: OpenTurn[];
  pageAhead: PageGap[];
}

/** What the background can tell about the browser at check time. */
export interface Look {
  /** Whether a page still shows the turn's conversation: turns whose page is gone become dormant. */
  shownSomewhere(t: OpenTurn): boolean;
  /** How many messages the session has recorded now (a history read may have caught up since). */
  recorded(g: PageGap): number;
  /** Whether the gap's tab is still open on its conversation (a page closed while loading is no gap). */
  tabShows(g: PageGap): boolean;
}

/** A turn whose conversation was never shown again is forgotten after this long. */
export const FORGET_AFTER_MS = 7 * 24 * 3600_000;

/** What is due at `now`, and the state after it is raised. */
export function dueAt(state: WatchState, now: number, look: Look, timings: WatchTimings = DEFAULT_TIMINGS): {
  due: Due; state: WatchState;
} {
  const shownSomewhere = (t: OpenTurn) => look.shownSomewhere(t);
  const noAnswer: OpenTurn[] = [];
  const turns: OpenTurn[] = [];
  for (const t of state.turns) {
    if (t.deadline === undefined && now - t.since > FORGET_AFTER_MS) continue;
    if (t.deadline === undefined || t.deadline > now) turns.push(t);
    else if (shownSomewhere(t)) noAnswer.push(t); // alarmed once, then forgotten
    else turns.push({ ...t, deadline: undefined });
  }
  const pageAhead: PageGap[] = [];
  let pages = { ...state.pages };
  for (const [key, g] of Object.entries(state.pages)) {
    if (look.recorded(g) >= g.shown || !look.tabShows(g)) {
      pages = without(pages, key);
      continue;
    }
    const underWay = turns.some((t) => t.site === g.site && t.sessionId === g.sessionId);
    if (g.alarmed || underWay || now - g.since < timings.pageAheadGraceMs) continue;
    pageAhead.push(g);
    pages[key] = { ...g, alarmed: true };
  }
  return { due: { noAnswer, pageAhead }, state: { turns, pages } };
}

/** When the next check is worth making (for a timer while the background is awake). */
export function nextCheck(state: WatchState, timings: WatchTimings = DEFAULT_TIMINGS): number | undefined {
  const times = [
    ...state.turns.flatMap((t) => (t.deadline === undefined ? [] : [t.deadline])),
    ...Object.values(state.pages).filter((g) => !g.alarmed).map((g) => g.since + timings.pageAheadGraceMs),
  ];
  return times.length ? Math.min(...times) : undefined;
}
