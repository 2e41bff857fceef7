/**
 * What the background knows about each tab showing a supported site, kept in session storage so a
 * sleeping service worker does not forget it, and the tab's toolbar badge.
 */
import type { DomHealth } from "../adapters/types.ts";
import type { CaptureGap } from "../core/messages.ts";
import { ext } from "../core/messages.ts";
import type { SiteId } from "../core/record.ts";

export interface TabState {
  site: SiteId;
  pageUrl: string;
  sessionId?: string;
  title?: string;
  dom?: DomHealth;
  trafficDrift?: string;
  /** Capture gaps noticed on this tab (newest last), for the popup. */
  gaps?: CaptureGap[];
  /** Adapter drift already raised on this page ("session|code|reason"): the same shape is seen on every re-read. */
  raised?: string[];
}

const tabKey = (id: number) => `tab:${id}`;

export async function tabState(id: number): Promise<TabState | undefined> {
  const got = (await ext.storage.session.get(tabKey(id))) as { [k: string]: TabState | undefined };
  return got[tabKey(id)];
}

export async function setTabState(id: number, state: TabState): Promise<void> {
  await ext.storage.session.set({ [tabKey(id)]: state });
}

export async function forgetTabState(id: number): Promise<void> {
  await ext.storage.session.remove(tabKey(id));
}

const GAP_COLOR = "#c62828";

/** Show the gap on the tab's toolbar button: a red "!" and the reason as its title. */
export async function badgeGap(tabId: number, gap: CaptureGap, count: number): Promise<void> {
  try {
    await ext.action.setBadgeBackgroundColor({ tabId, color: GAP_COLOR });
    await ext.action.setBadgeText({ tabId, text: count > 1 ? String(Math.min(count, 99)) : "!" });
    await ext.action.setTitle({ tabId, title: `PromptStamp: capture gap: ${gap.text}`.slice(0, 500) });
  } catch {
    // the tab closed meanwhile: the drift record is what counts
  }
}

export async function clearBadge(tabId: number): Promise<void> {
  try {
    await ext.action.setBadgeText({ tabId, text: "" });
    await ext.action.setTitle({ tabId, title: "PromptStamp" });
  } catch {
    // the tab is gone
  }
}
