/**
 * "Stamp selection" / "Stamp image" from the context menu, on any page: the user's own step,
 * recorded into the session of the tab (a supported site's conversation) or, anywhere else, into a
 * `web` session named by the page's address.
 *
 * Limits, stated rather than hidden:
 * - Only the browser can open its context menu: there is no API to click a menu item, and headless
 *   Chromium draws no menu at all. The tests therefore call `stampFromPage` with the data Chromium
 *   would pass (`OnClickData`), and the menu's creation is checked in the browser.
 * - Reading an image from a site that is not a supported one needs that origin's permission, and
 *   `permissions.request` only works inside the click's user gesture, so the listener asks before
 *   anything else and passes the answer in. Headless Chromium never answers (nobody can click
 *   Allow): such a test must use an origin the build already grants.
 * - `blob:` images belong to the page and cannot be fetched from the extension; `data:` images are
 *   read as they are. Either way the record says what was stamped or the popup says why not.
 * - The selection's text is what the browser reports (`selectionText`): plain text, whitespace
 *   collapsed, without the page's formatting.
 */
import { compact, WEB_SITE, type Draft } from "../core/record.ts";
import { fetchImage, recordUserStep } from "./recorder.ts";
import { reportError } from "./settings.ts";

export const MENU_SELECTION = "stamp-selection";
export const MENU_IMAGE = "stamp-image";

export interface PageSession {
  site: string;
  id: string;
  url?: string;
  title?: string;
}

/** The origins "Stamp image" needs to read, to be requested synchronously inside the click. */
export function originsNeeded(info: chrome.contextMenus.OnClickData): string[] {
  const src = info.srcUrl;
  return info.menuItemId === MENU_IMAGE && src && /^https?:/.test(src) ? [`${new URL(src).origin}/*`] : [];
}

/** A page outside the supported sites is its own session, named by its address (no query string). */
export function webSession(tab: chrome.tabs.Tab | undefined, pageUrl?: string): PageSession {
  const url = new URL(pageUrl ?? tab?.url ?? "about:blank");
  return compact({ site: WEB_SITE, id: (url.origin + url.pathname).slice(0, 512), url: url.href, title: tab?.title });
}

/** Record the clicked selection or image; answers the record id, or undefined (the popup says why). */
export async function stampFromPage(
  info: chrome.contextMenus.OnClickData,
  tab: chrome.tabs.Tab | undefined,
  granted: Promise<boolean>,
  sessionOf: (tab: chrome.tabs.Tab | undefined) => Promise<PageSession | undefined>,
): Promise<string | undefined> {
  try {
    const pageUrl = info.pageUrl ?? tab?.url;
    const session = (await sessionOf(tab)) ?? webSession(tab, pageUrl);
    const refs = pageUrl ? { page_url: pageUrl } : undefined;
    if (info.menuItemId === MENU_SELECTION && info.selectionText) {
      return await recordUserStep(session.site, session.id, compact({
        type: "selection", actor: "user", session, text: info.selectionText, refs,
      } satisfies Draft));
    }
    const src = info.srcUrl;
    if (info.menuItemId === MENU_IMAGE && src) {
      if (src.startsWith("blob:")) throw new Error("the image exists only inside the page (a blob: address) and cannot be read");
      if (!(await granted)) throw new Error(`no permission to read images from ${new URL(src).host}`);
      const attachment = await fetchImage({ url: src, role: "selected" }, {}, "");
      return await recordUserStep(session.site, session.id, compact({
        type: "selection", actor: "user", session, refs,
      } satisfies Draft), [attachment]);
    }
    return undefined;
  } catch (e) {
    await reportError(`stamping from the page failed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
