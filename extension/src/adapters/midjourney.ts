/**
 * Midjourney: jobs, not chats (live-traffic-2026.md §2.5). Every act is POST /api/submit-jobs
 * with a job type `t`; only imagine carries `prompt`, the others name their parent job (`id` +
 * `index`, or `parentJob{job_id, image_num}`) and answer `{success:[{job_id, prompt,
 * meta:{parent_id}}], failure:[…]}`. Jobs finish minutes later: the web app learns it over its
 * WebSocket and lists finished jobs at GET /api/imagine?user_id&page_size (a job's presence there
 * is its completion, per the public client MJ-A). Results sit on cdn.midjourney.com.
 *
 * How acts map to steps (§3): each job is a user step `<job>:prompt` recorded when it is
 * submitted, and an output `<job>:output` (its images or video) once it is listed as finished.
 *   imagine        -> prompt (no parent: two imagines are never edits of each other)
 *   vary / reroll  -> regenerate: a new take on a grid image, under the parent job's output
 *   upscale        -> selection: the user picked grid image `index`; its output is that one image
 *   remix / pan    -> edit when it carries a `newPrompt` (the prompt changed), else regenerate
 *   video/animate  -> prompt: a new request (motion, `--video`, `--bs`) on a parent image, awaiting video
 * The action's parent is the parent job's output, with the image index in refs. The Create page
 * is one long session, `imagine`.
 */
import type { ImageRef } from "../core/record.ts";
import { modelOf, parseCommand } from "./midjourney-command.ts";
import type { Capabilities, Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import {
  Drift, arr, cleanParams, fnv1a, guarded, isObj, isoTime, mediaTypeFromUrl, need, num, parseJson, probeTurns, slot, str,
  type Obj,
} from "./util.ts";

export { parseCommand } from "./midjourney-command.ts";

const ORIGIN = "https://www.midjourney.com";
const SUBMIT = /^https:\/\/www\.midjourney\.com\/api\/submit-jobs(?:\?|$)/;
const IMAGINE = /^https:\/\/www\.midjourney\.com\/api\/imagine\?/;
const SOCKET = /^wss:\/\/[a-z0-9.-]*midjourney\.com\//;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CDN = "https://cdn.midjourney.com";
const SESSION = "imagine";
/** Jobs take from seconds (draft) to minutes (video, relax mode): re-read the list until then. */
const JOB_DELAYS = [5000, 20000, 60000, 120000, 240000];

type Act = NonNullable<Msg["act"]>;
interface JobAct { act: Act; awaits: "image" | "video"; action: string; parent?: string; index?: number }
interface PageMemory { jobs: Map<string, JobAct>; listUrl?: string; userId?: string; identified?: boolean }

const memoryOf = (state: Map<string, unknown>) =>
  slot<PageMemory>(state, "midjourney", () => ({ jobs: new Map() }));

function actOfSubmit(t: string, newPrompt: string | undefined): { act: Act; awaits: "image" | "video" } {
  if (t === "video" || t === "animate") return { act: "prompt", awaits: "video" };
  if (t === "upscale") return { act: "selection", awaits: "image" };
  if (t === "vary" || t === "reroll") return { act: "regenerate", awaits: "image" };
  if (t === "remix" || t === "pan") return { act: newPrompt ? "edit" : "regenerate", awaits: "image" };
  return { act: "prompt", awaits: "image" };
}

/** For jobs first seen in the list (made on another device or before the page loaded). */
function actOfListed(kind: string, hasParent: boolean): JobAct {
  if (/video/.test(kind)) return { act: "prompt", awaits: "video", action: "video" };
  if (/upscale/.test(kind)) return { act: "selection", awaits: "image", action: "upscale" };
  if (/pan|remix|outpaint|zoom|inpaint|edit/.test(kind)) return { act: "edit", awaits: "image", action: kind };
  if (/vari|vary|reroll/.test(kind) || hasParent) return { act: "regenerate", awaits: "image", action: kind || "vary" };
  return { act: "prompt", awaits: "image", action: "imagine" };
}

function userStep(jobId: string, a: JobAct, command: string | undefined, extra: { [k: string]: unknown },
  createdAt?: string): Msg {
  const { text, params } = parseCommand(command ?? "");
  const refs: { [k: string]: string } = { job_id: jobId, action: a.action };
  if (a.parent) refs.parent_job_id = a.parent;
  if (a.index !== undefined) refs.image_index = String(a.index);
  return {
    id: `${jobId}:prompt`, role: "user", text: text || undefined, complete: true, act: a.act, awaits: a.awaits,
    parentId: a.parent ? `${a.parent}:output` : undefined, createdAt,
    params: cleanParams({ ...params, ...extra }), refs,
  };
}

function submitExtras(request: Obj): { [k: string]: unknown } {
  const f = isObj(request.f) ? request.f : {};
  return {
    mode: f.mode, private: f.private, strong: request.strong, upscale_type: request.type,
    direction: request.direction, fraction: request.fraction, stitch: request.stitch,
    video_type: request.videoType, animate_mode: request.animateMode,
  };
}

function parseSubmit(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const request = parseJson(ex.requestBody);
  const body = parseJson(ex.responseText);
  if (!isObj(request) || !isObj(body)) throw new Drift("submit-jobs request or answer is not JSON");
  const t = need(str(request.t), "a job type `t` in the request");
  const success = arr(body.success);
  const failure = arr(body.failure);
  if (!success && !failure) throw new Drift("the answer has neither `success` nor `failure`");
  const mem = memoryOf(state);
  const out: Observation[] = [];
  const user = /^singleplayer_(.+)$/.exec(str(request.channelId) ?? "")?.[1];
  if (user) {
    mem.userId = user;
    if (!mem.identified) {
      mem.identified = true;
      out.push({ kind: "identity", identity: { id: user, source: "POST /api/submit-jobs channelId" } });
    }
  }
  const newPrompt = str(request.newPrompt);
  const { act, awaits } = actOfSubmit(t, newPrompt);
  const parentJob = isObj(request.parentJob) ? request.parentJob : undefined;
  const parent = str(request.id) ?? (parentJob ? str(parentJob.job_id) : undefined);
  const index = num(request.index) ?? (parentJob ? num(parentJob.image_num) : undefined);
  const extra = submitExtras(request);
  const messages: Msg[] = [];
  for (const [i, s] of (success ?? []).entries()) {
    if (!isObj(s)) throw new Drift(`success[${i}] is not an object`);
    const jobId = need(str(s.job_id), `success[${i}].job_id`);
    if (!JOB_ID.test(jobId)) throw new Drift(`success[${i}].job_id ${jobId.slice(0, 40)} is not a job id`);
    const meta = isObj(s.meta) ? s.meta : {};
    const a: JobAct = { act, awaits, action: t, parent: str(meta.parent_id) ?? parent, index };
    mem.jobs.set(jobId, a);
    // The command the user wrote: imagine's `prompt`, an edit's `newPrompt`, else the job's own prompt.
    messages.push(userStep(jobId, a, str(request.prompt) ?? newPrompt ?? str(s.prompt), extra));
  }
  // A refused job is not drift: the user's act is recorded with the site's refusal as its answer.
  for (const [i, f] of (failure ?? []).entries()) {
    const reason = isObj(f) ? str(f.message) ?? str(f.type) ?? JSON.stringify(f) : String(f);
    const id = `refused-${fnv1a(`${ex.requestBody ?? ""}|${i}|${ex.responseText}`)}`;
    const a: JobAct = { act, awaits, action: t, parent, index };
    const step = userStep(id, a, str(request.prompt) ?? newPrompt, extra);
    delete step.refs?.job_id; // the site made no job
    messages.push(step, {
      id: `${id}:output`, role: "ai", parentId: step.id, text: reason, complete: true,
      meta: { job_status: "refused", failure: reason }, refs: { action: t },
    });
  }
  if (messages.length) out.push(snapshot(messages));
  if (success?.length) {
    const url = mem.listUrl ?? (mem.userId ? `${ORIGIN}/api/imagine?user_id=${encodeURIComponent(mem.userId)}&page_size=100` : undefined);
    if (url) out.push({ kind: "reconcile", url, method: "GET", delays: JOB_DELAYS });
  }
  return out;
}

/** A listed job's state; `word` is the site's own status, kept as it said it. */
function statusOf(job: Obj): { state: "completed" | "failed" | "cancelled" | "running"; word: string } {
  const raw = (str(job.current_status) ?? str(job.status) ?? "").toLowerCase();
  if (raw === "" || /^(completed?|done|success)$/.test(raw)) return { state: "completed", word: raw || "completed" };
  if (/^(cancell?ed|stopped|aborted)$/.test(raw)) return { state: "cancelled", word: raw };
  if (/^(failed|error|moderated|banned)$/.test(raw)) return { state: "failed", word: raw };
  return { state: "running", word: raw };
}

function resultsOf(id: string, job: Obj, a: JobAct, batch: number): ImageRef[] {
  const paths = arr(job.image_paths)?.filter((p): p is string => typeof p === "string" && p.startsWith(`${CDN}/`));
  const urls = paths?.length ? paths
    : a.awaits === "video" ? Array.from({ length: batch }, (_, k) => `${CDN}/video/${id}/${k}.mp4`)
      // The unsuffixed name is the original; `0_{i}_{size}_N.webp` names are resized renditions.
      : a.act === "selection" ? [`${CDN}/${id}/0_0.png`]
        : Array.from({ length: batch }, (_, k) => `${CDN}/${id}/0_${k}.png`);
  return urls.map((url) => ({ url, role: "output", mediaType: mediaTypeFromUrl(url) }));
}

function listedJob(job: Obj, i: number, mem: PageMemory): Msg[] {
  const id = need(str(job.id) ?? str(job.job_id), `job ${i} id`);
  if (!JOB_ID.test(id)) throw new Drift(`job ${i} id ${id.slice(0, 40)} is not a job id`);
  const command = str(job.full_command) ?? str(job.prompt) ?? "";
  const kind = `${str(job.job_type) ?? ""} ${str(job.event_type) ?? ""}`.toLowerCase().trim();
  const parent = str(job.parent_id) ?? str(job.reference_job_id);
  const a = mem.jobs.get(id) ?? { ...actOfListed(kind, parent !== undefined), parent, index: num(job.reference_image_num) };
  const created = isoTime(job.enqueue_time) ?? isoTime(str(job.enqueue_time)?.replace(" ", "T").concat("Z"));
  const { params } = parseCommand(command);
  const step = userStep(id, a, command, {}, created);
  const status = statusOf(job);
  if (status.state === "running") return [step];
  const event = isObj(job.event) ? job.event : {};
  const batch = num(job.batch_size) ?? (typeof params.batch_size === "number" ? params.batch_size : a.awaits === "video" ? 1 : 4);
  const model = modelOf(str(job.job_type), params);
  const meta = cleanParams({
    job_type: str(job.job_type), event_type: str(job.event_type),
    width: num(job.width) ?? num(event.width), height: num(job.height) ?? num(event.height), job_status: status.word,
    model: model?.model, model_source: model?.source,
  });
  // A cancelled job is a stopped answer; a failed one is recorded as the site said, without results.
  return [step, {
    id: `${id}:output`, role: "ai", parentId: step.id, complete: true, createdAt: created, refs: { ...step.refs },
    stopped: status.state === "cancelled" ? true : undefined, meta,
    images: status.state === "completed" ? resultsOf(id, job, a, Math.max(1, Math.min(16, batch))) : undefined,
  }];
}

function parseImagine(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const body = parseJson(ex.responseText);
  const list = Array.isArray(body) ? body
    : isObj(body) ? arr(body.data) ?? arr(body.jobs) ?? arr(body.items) : undefined;
  const jobs = need(list, "a list of jobs (`data`)");
  const mem = memoryOf(state);
  mem.listUrl = ex.url;
  const messages: Msg[] = [];
  for (const [i, j] of jobs.entries()) {
    if (!isObj(j)) throw new Drift(`job ${i} is not an object`);
    messages.push(...listedJob(j, i, mem));
  }
  // The list is newest first; record in the order the jobs were made.
  messages.sort((a, b) => (a.createdAt ?? "").localeCompare(b.createdAt ?? ""));
  return [snapshot(messages)];
}

/**
 * The web app's socket reports job progress. Its frames are not documented (MJ-W only logs them):
 * a frame naming a finished job re-reads the job list; anything else (progress, keep-alive) is
 * normal and says nothing.
 */
function parseSocket(ex: Exchange, state: Map<string, unknown>): Observation[] {
  const frame = parseJson(ex.responseText);
  const items = Array.isArray(frame) ? frame : [frame];
  const done = items.some((f) => isObj(f) && JOB_ID.test(str(f.job_id) ?? str(f.id) ?? "") &&
    (statusOf(f).state === "completed" && (f.current_status !== undefined || f.status !== undefined) ||
      num(f.percentage_complete) === 100));
  const mem = memoryOf(state);
  const url = mem.listUrl ?? (mem.userId ? `${ORIGIN}/api/imagine?user_id=${encodeURIComponent(mem.userId)}&page_size=100` : undefined);
  return done && url ? [{ kind: "reconcile", url, method: "GET", delays: [0, 5000] }] : [];
}

function snapshot(messages: Msg[]): Observation {
  return { kind: "snapshot", snapshot: { sessionId: SESSION, url: `${ORIGIN}/imagine`, title: "Midjourney", messages,
    source: "history" } };
}

const capabilities: Capabilities = {
  liveTurns: "public-capture", // submit-jobs bodies and answers (MJ-A); the socket's frames are undocumented
  history: "public-capture",
  edits: "public-capture",
  regenerations: "public-capture",
  selection: "public-capture",
  model: "public-capture", // job_type / --v of the command
  images: "public-capture",
  identity: "public-capture", // channelId `singleplayer_<user id>` (MJ-A); no display name
};

export const midjourney: SiteAdapter = {
  id: "midjourney",
  version: 2,
  name: "Midjourney",
  capabilities,
  hosts: ["www.midjourney.com"],
  imageHosts: ["cdn.midjourney.com"],
  capture: [SUBMIT, IMAGINE],
  captureWs: [SOCKET],
  sessionFromUrl(url) {
    return /^\/(imagine|create|jobs|archive|explore)/.test(url.pathname) ? SESSION : null;
  },
  parse(ex, state) {
    if (ex.method === "WS") return guarded("Midjourney socket", () => parseSocket(ex, state));
    if (ex.status !== 200) return [];
    if (ex.method === "POST" && SUBMIT.test(ex.url)) {
      return guarded("Midjourney submit", () => parseSubmit(ex, state), "unknown-shape", SESSION);
    }
    if (ex.method === "GET" && IMAGINE.test(ex.url)) {
      return guarded("Midjourney jobs", () => parseImagine(ex, state), "unknown-shape", SESSION);
    }
    return [];
  },
  probeDom(doc, url) {
    const health = probeTurns(doc, this.sessionFromUrl(url) !== null,
      ["img[src*='cdn.midjourney.com']", "#pageScroll", "[data-job-id]"]);
    const jobs = doc.querySelectorAll("[data-job-id]").length;
    return jobs ? { ...health, turns: jobs } : health;
  },
};
