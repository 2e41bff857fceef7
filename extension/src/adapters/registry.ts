/** The ordered adapter registry: the first adapter whose hosts include the page's host runs there. */
import { chatgpt } from "./chatgpt.ts";
import { claude } from "./claude.ts";
import type { SiteAdapter } from "./types.ts";

export const ADAPTERS: readonly SiteAdapter[] = [chatgpt, claude];

export function adapterForHost(host: string): SiteAdapter | undefined {
  return ADAPTERS.find((a) => a.hosts.includes(host));
}

export function adapterForSite(site: string): SiteAdapter | undefined {
  return ADAPTERS.find((a) => a.id === site);
}
