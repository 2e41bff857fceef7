/**
 * Gemini: POST …/assistant.lamda.BardFrontendService/StreamGenerate answers `)]}'` followed by
 * length-prefixed frames; each `wrb.fr` entry holds positional JSON: ids at [1] (`c_…` conversation,
 * `r_…` response), candidates at [4] (`rc_…`, text at [1][0], generated images at [12][7][0][i][0][3][3]).
 * The prompt is in the form field `f.req` (capture-sites.md §1, §2). Full-size images: `=s0`.
 */
import type { ImageRef } from "../core/record.ts";
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, guarded, parseJson, probeTurns, str } from "./util.ts";

const STREAM = /^https:\/\/gemini\.google\.com\/(?:u\/\d+\/)?_\/BardChatUi\/data\/assistant\.lamda\.BardFrontendService\/StreamGenerate/;

function at(v: unknown, ...path: number[]): unknown {
  let cur = v;
  for (const i of path) cur = Array.isArray(cur) ? cur[i] : undefined;
  return cur;
}

/** Every `wrb.fr` payload of a batchexecute-style answer, parsed. */
export function frames(text: string): unknown[] {
  const out: unknown[] = [];
  for (const line of text.replace(/^\)\]\}'/, "").split("\n")) {
    const outer = line.trim().startsWith("[") ? parseJson(line) : undefined;
    for (const entry of arr(outer) ?? []) {
      if (Array.isArray(entry) && entry[0] === "wrb.fr" && typeof entry[2] === "string") {
        const inner = parseJson(entry[2]);
        if (inner !== undefined) out.push(inner);
      }
    }
  }
  return out;
}

function promptOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  const freq = new URLSearchParams(body).get("f.req");
  const outer = parseJson(freq ?? undefined);
  const inner = parseJson(str(at(outer, 1)));
  return str(at(inner, 0, 0));
}

function parseStream(ex: Exchange): Observation[] {
  const payloads = frames(ex.responseText);
  if (!payloads.length) {
    if (ex.responseText.trim().length > 10) throw new Drift("no `wrb.fr` frame in the answer");
    return [];
  }
  let conv: string | undefined;
  let response: string | undefined;
  let draft: string | undefined;
  let text: string | undefined;
  const images: ImageRef[] = [];
  for (const p of payloads) {
    conv = str(at(p, 1, 0)) ?? conv;
    response = str(at(p, 1, 1)) ?? response;
    const cand = at(p, 4, 0);
    if (Array.isArray(cand)) {
      draft = str(cand[0]) ?? draft;
      text = str(at(cand, 1, 0)) ?? text;
      for (const img of arr(at(cand, 12, 7, 0)) ?? []) {
        const url = str(at(img, 0, 3, 3));
        if (url) images.splice(0, images.length, ...images.filter((i) => i.url !== url), { url: url.replace(/=s\d+[^/]*$/, "") + "=s0", role: "output" });
      }
    }
  }
  if (!conv || !conv.startsWith("c_")) throw new Drift("no conversation id (c_…) in the answer");
  const sessionId = conv.slice(2);
  const prompt = promptOf(ex.requestBody);
  const messages: Msg[] = [];
  const userId = `${response ?? "r_unknown"}:prompt`;
  if (prompt) messages.push({ id: userId, role: "user", text: prompt, complete: true });
  if (draft && (text || images.length)) {
    messages.push({
      id: draft, role: "ai", parentId: prompt ? userId : undefined, text: text?.replace(/http:\/\/googleusercontent\.com\/image_generation_content\/\d+/g, "").trim() || undefined,
      complete: true, images: images.length ? images : undefined, refs: response ? { response_id: response } : undefined,
    });
  }
  return [{ kind: "snapshot", snapshot: { sessionId, url: `https://gemini.google.com/app/${sessionId}`, messages } }];
}

export const gemini: SiteAdapter = {
  id: "gemini",
  version: 1,
  name: "Gemini",
  hosts: ["gemini.google.com"],
  imageHosts: ["lh3.googleusercontent.com"],
  capture: [STREAM],
  sessionFromUrl(url) {
    return /^\/(?:u\/\d+\/)?app\/([0-9a-f]{8,32})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || ex.method !== "POST" || !STREAM.test(ex.url)) return [];
    return guarded("Gemini stream", () => parseStream(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["user-query", "model-response", ".conversation-container"]);
  },
};

