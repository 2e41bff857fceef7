/**
 * Midjourney: jobs, not chats. POST /api/submit-jobs carries the prompt with its parameters
 * (`--ar --v --s --chaos --seed --sref …`); GET /api/imagine lists jobs (`id`, `parent_id`,
 * `full_command`, `enqueue_time`, `batch_size`) whose grid images sit on cdn.midjourney.com
 * (capture-sites.md §1, §2). A job's prompt is a `prompt` (with a `parameters` step when the
 * settings change); its finished images are an `output`. The Create page is one long session,
 * `imagine`; jobs link to their parents (variations, upscales) through `refs.parent_job_id`.
 */
import type { Json } from "../core/jcs.ts";
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, guarded, isObj, isoTime, need, num, parseJson, probeTurns, str, type Obj } from "./util.ts";

const SUBMIT = /^https:\/\/www\.midjourney\.com\/api\/submit-jobs(?:\?|$)/;
const IMAGINE = /^https:\/\/www\.midjourney\.com\/api\/imagine\?/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const FLAGS: { [flag: string]: string } = {
  ar: "aspect_ratio", aspect: "aspect_ratio", v: "version", version: "version", s: "stylize", stylize: "stylize",
  c: "chaos", chaos: "chaos", seed: "seed", w: "weird", weird: "weird", q: "quality", quality: "quality",
  sref: "style_reference", cref: "character_reference", style: "style", niji: "niji", no: "no", iw: "image_weight",
  tile: "tile", raw: "raw", stop: "stop", r: "repeat", repeat: "repeat", p: "personalize", draft: "draft",
};

/** Split `prompt --ar 16:9 --seed 7 --tile` into the prompt text and its parameters. */
export function parseCommand(command: string): { text: string; params: { [k: string]: Json } } {
  const at = command.search(/(^|\s)--[a-z]/);
  const text = (at < 0 ? command : command.slice(0, at)).trim();
  const params: { [k: string]: Json } = {};
  if (at >= 0) {
    for (const m of command.slice(at).matchAll(/--([a-z]+)(?:\s+((?:(?!--)[^\s]+\s*)*))?/g)) {
      const name = FLAGS[m[1] ?? ""] ?? (m[1] ?? "flag");
      const raw = (m[2] ?? "").trim();
      const n = Number(raw);
      params[name] = raw === "" ? true : /^-?\d+(\.\d+)?$/.test(raw) && Number.isFinite(n) ? n : raw;
    }
  }
  return { text, params };
}

const SESSION = "imagine";

function jobMessages(job: Obj, i: number): { session: string; msgs: Msg[] } {
  const id = need(str(job.id), `job ${i} id`);
  if (!JOB_ID.test(id)) throw new Drift(`job ${i} id ${id.slice(0, 40)} is not a job id`);
  const command = need(str(job.full_command) ?? str(job.prompt), `job ${i} full_command`);
  const created = isoTime(job.enqueue_time);
  const { text, params } = parseCommand(command);
  const parent = str(job.parent_id);
  const refs: { [k: string]: string } = { job_id: id };
  if (parent) refs.parent_job_id = parent;
  const msgs: Msg[] = [{
    id: `${id}:prompt`, role: "user", text: text || command, complete: true, createdAt: created,
    params: Object.keys(params).length ? params : undefined, refs,
  }];
  const status = str(job.status) ?? (arr(job.image_paths) || num(job.batch_size) ? "completed" : undefined);
  if (status === "completed") {
    const paths = arr(job.image_paths)?.filter((p): p is string => typeof p === "string");
    const count = num(job.batch_size) ?? 4;
    const urls = paths?.length ? paths : Array.from({ length: count }, (_, k) => `https://cdn.midjourney.com/${id}/0_${k}.png`);
    const event = isObj(job.event) ? job.event : {};
    msgs.push({
      id: `${id}:output`, role: "ai", parentId: `${id}:prompt`, complete: true, createdAt: created, refs,
      images: urls.map((url) => ({ url, role: "output" })),
      meta: { job_type: str(job.job_type) ?? "imagine", width: num(event.width) ?? 0, height: num(event.height) ?? 0 },
    });
  }
  return { session: SESSION, msgs };
}

function snapshotsOf(jobs: Obj[]): Observation[] {
  const bySession = new Map<string, Msg[]>();
  jobs.forEach((job, i) => {
    const { session, msgs } = jobMessages(job, i);
    bySession.set(session, [...(bySession.get(session) ?? []), ...msgs]);
  });
  return [...bySession].map(([sessionId, messages]) => ({
    kind: "snapshot" as const,
    snapshot: { sessionId, url: "https://www.midjourney.com/imagine", title: "Midjourney",
      messages: messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? "")) },
  }));
}

function parseImagine(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  const data = need(isObj(body) ? arr(body.data) : undefined, "a `data` array of jobs");
  const jobs = data.map((j, i) => {
    if (!isObj(j)) throw new Drift(`data[${i}] is not an object`);
    return j;
  });
  return snapshotsOf(jobs.reverse()); // the API lists newest first
}

function parseSubmit(ex: Exchange): Observation[] {
  const request = parseJson(ex.requestBody);
  const body = parseJson(ex.responseText);
  if (!isObj(request) || !isObj(body)) throw new Drift("submit-jobs request or answer is not JSON");
  const prompt = str(request.prompt);
  const ok = arr(body.success);
  if (!prompt || !ok) throw new Drift("submit-jobs lacks `prompt` or `success`");
  const jobs = ok.filter(isObj).map((s) => ({ id: s.job_id, full_command: prompt, status: "queued" }));
  return snapshotsOf(jobs);
}

export const midjourney: SiteAdapter = {
  id: "midjourney",
  version: 1,
  name: "Midjourney",
  hosts: ["www.midjourney.com"],
  imageHosts: ["cdn.midjourney.com"],
  capture: [SUBMIT, IMAGINE],
  sessionFromUrl(url) {
    return /^\/(imagine|create|jobs|archive)/.test(url.pathname) ? SESSION : null;
  },
  parse(ex) {
    if (ex.status !== 200) return [];
    if (ex.method === "POST" && SUBMIT.test(ex.url)) return guarded("Midjourney submit", () => parseSubmit(ex));
    if (ex.method === "GET" && IMAGINE.test(ex.url)) return guarded("Midjourney jobs", () => parseImagine(ex));
    return [];
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["img[src*='cdn.midjourney.com']", "#pageScroll", "[data-job-id]"]);
  },
};
