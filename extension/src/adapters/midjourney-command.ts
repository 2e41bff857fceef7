/**
 * Midjourney's command line: `prompt text --ar 16:9 --v 7 --s 250 --seed 7 --tile`. Every job
 * carries one (`prompt` of an imagine submit, `newPrompt` of remix/pan/video, `full_command` of a
 * listed job); the flags are the user's requested settings (live-traffic-2026.md §2.5).
 */
import type { Json } from "../core/jcs.ts";

const FLAGS: { [flag: string]: string } = {
  ar: "aspect_ratio", aspect: "aspect_ratio", v: "version", version: "version", s: "stylize", stylize: "stylize",
  c: "chaos", chaos: "chaos", seed: "seed", w: "weird", weird: "weird", q: "quality", quality: "quality",
  sref: "style_reference", cref: "character_reference", style: "style", niji: "niji", no: "no", iw: "image_weight",
  tile: "tile", raw: "raw", stop: "stop", r: "repeat", repeat: "repeat", p: "personalize", draft: "draft",
  video: "video", bs: "batch_size", motion: "motion", end: "end_frame", loop: "loop", exp: "experimental",
  sw: "style_weight", oref: "omni_reference", ow: "omni_weight",
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

/**
 * The model a job ran on, and where that came from: the job list's `job_type` names the version
 * that ran (`v7_diffusion`, `niji6_upscale`); failing that, the command's `--v` / `--niji` flag.
 * Without either the site default ran, which the traffic does not name.
 */
export function modelOf(jobType: string | undefined, params: { [k: string]: Json }): { model: string; source: string } | undefined {
  const ran = jobType ? /^(v\d+(?:\.\d+)?|niji\d*)_/.exec(jobType)?.[1] : undefined;
  if (ran) return { model: ran, source: "job_type" };
  const video = jobType ? /^vid_(\d+(?:\.\d+)?)_/.exec(jobType)?.[1] : undefined;
  if (video) return { model: `video v${video}`, source: "job_type" };
  if (params.niji !== undefined) return { model: params.niji === true ? "niji" : `niji${String(params.niji)}`, source: "full_command --niji" };
  if (params.version !== undefined) return { model: `v${String(params.version)}`, source: "full_command --v" };
  return undefined;
}
