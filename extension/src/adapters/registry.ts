/** The ordered adapter registry: the first adapter whose hosts include the page's host runs there. */
import { chatgpt } from "./chatgpt.ts";
import { claude } from "./claude.ts";
import { deepseek } from "./deepseek.ts";
import { doubao } from "./doubao.ts";
import { gemini } from "./gemini.ts";
import { grok } from "./grok.ts";
import { kimi } from "./kimi.ts";
import { midjourney } from "./midjourney.ts";
import { perplexity } from "./perplexity.ts";
import { qwen } from "./qwen.ts";
import type { SiteAdapter } from "./types.ts";

export const ADAPTERS: readonly SiteAdapter[] = [
  chatgpt, claude, gemini, deepseek, midjourney, grok, perplexity, doubao, kimi, qwen,
];

export function adapterForHost(host: string): SiteAdapter | undefined {
  return ADAPTERS.find((a) => a.hosts.includes(host));
}

export function adapterForSite(site: string): SiteAdapter | undefined {
  return ADAPTERS.find((a) => a.id === site);
}
