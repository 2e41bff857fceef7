/**
 * One ChatGPT message (stream snapshot or tree node) -> a normalized Msg, or nothing when the
 * message is not something the user sees as a step (live-traffic-2026.md §2.1 "Which message is the
 * answer"): narration and tool preambles (`channel:"commentary"`, `end_turn:false`), hidden messages
 * (`weight: 0`, `is_visually_hidden_from_conversation`), thinking and recap content, tool calls,
 * images a tool merely opens. Only `channel:"final"` / `end_turn` text and generated images are outputs.
 */
import type { Json } from "../core/jcs.ts";
import type { ImageRef } from "../core/record.ts";
import type { Msg } from "./types.ts";
import { Drift, arr, cleanParams, isObj, isoTime, need, str, type Obj } from "./util.ts";

/** Where a step test reads content: image parts count, their download URL does not matter. */
const ANY_ORIGIN = "https://chatgpt.com";

/** `sediment://file_x` or `file-service://file-x` -> the files API that answers a signed `download_url`. */
function imageFromPart(part: Obj, base: string, role: string): ImageRef | undefined {
  const pointer = str(part.asset_pointer);
  if (!pointer) return undefined;
  const fileId = pointer.replace(/^[a-z-]+:\/\//, "");
  if (!/^[A-Za-z0-9_-]+$/.test(fileId)) throw new Drift(`unexpected image pointer ${pointer.slice(0, 40)}`);
  return { url: `${base}/backend-api/files/download/${fileId}`, resolveField: "download_url", role };
}

function imageMeta(part: Obj): Obj {
  const meta = isObj(part.metadata) ? part.metadata : {};
  const dalle = isObj(meta.dalle) ? meta.dalle : {};
  const gen = isObj(meta.generation) ? meta.generation : {};
  return {
    image_prompt: dalle.prompt, seed: dalle.seed ?? gen.seed, gen_id: dalle.gen_id ?? gen.gen_id,
    parent_gen_id: dalle.parent_gen_id ?? gen.parent_gen_id, edit_op: dalle.edit_op,
    width: part.width ?? gen.width, height: part.height ?? gen.height,
  };
}

interface Content {
  text?: string;
  images: ImageRef[];
  meta: Obj;
}

/** Text and image parts of a text/multimodal_text message; undefined for every other content type. */
function readContent(message: Obj, base: string, imageRole: string): Content | undefined {
  const content = need(isObj(message.content) ? message.content : undefined, "message.content");
  const type = need(str(content.content_type), "message.content.content_type");
  // thoughts, reasoning_recap, model_editable_context, execution_output, code: not what the user reads.
  if (type !== "text" && type !== "multimodal_text") return undefined;
  const out: Content = { images: [], meta: {} };
  const texts: string[] = [];
  for (const part of need(arr(content.parts), "message.content.parts")) {
    if (typeof part === "string") texts.push(part);
    else if (isObj(part) && part.content_type === "image_asset_pointer") {
      const img = imageFromPart(part, base, imageRole);
      if (img) out.images.push(img);
      Object.assign(out.meta, imageMeta(part));
    }
  }
  const text = texts.join("\n").trim();
  if (text) out.text = text;
  return out;
}

/** Why a finished answer ended: the user's stop (or the site's cut-off) vs. a normal end. */
function stoppedBy(message: Obj): boolean {
  const metadata = isObj(message.metadata) ? message.metadata : {};
  const finish = isObj(metadata.finish_details) ? str(metadata.finish_details.type) : undefined;
  return finish === "interrupted" || message.status === "finished_partial_completion";
}

/** The message says it is done: status, end_turn or is_complete on the message itself (SBO). */
export function messageFinished(message: Obj): boolean {
  const metadata = isObj(message.metadata) ? message.metadata : {};
  return message.status === "finished_successfully" || message.end_turn === true || metadata.is_complete === true ||
    stoppedBy(message);
}

/** The model that answered: `resolved_model_slug`; never the requested `auto` (DMM, RI-R). */
export function answeringModel(metadata: Obj): { model?: string; model_source?: string } {
  const resolved = str(metadata.resolved_model_slug);
  if (resolved) return { model: resolved, model_source: "metadata.resolved_model_slug" };
  // Older trees carry only `model_slug` on the answer itself: weaker evidence, and named as such.
  const slug = str(metadata.model_slug);
  if (slug && slug !== "auto") return { model: slug, model_source: "metadata.model_slug" };
  return {};
}

export function roleOf(message: Obj): string {
  const author = need(isObj(message.author) ? message.author : undefined, "message.author");
  return need(str(author.role), "message.author.role");
}

/** Does this message count as a step? (The parent walk skips those that do not.) */
export function isStep(message: Obj): boolean {
  const role = roleOf(message);
  const metadata = isObj(message.metadata) ? message.metadata : {};
  if (role === "system" || metadata.is_visually_hidden_from_conversation === true) return false;
  if (role === "user") return readContent(message, ANY_ORIGIN, "input") !== undefined;
  if (role === "tool") {
    const author = message.author as Obj;
    // An image a tool merely opens (container.open_image) is not a generated output.
    if (str(author.name)?.startsWith("container.")) return false;
    const content = readContent(message, ANY_ORIGIN, "output");
    return content !== undefined && content.images.length > 0;
  }
  if (role !== "assistant") return false;
  if ((str(message.recipient) ?? "all") !== "all") return false; // a call to a tool
  if (message.weight === 0 || metadata.is_thinking_preamble_message === true) return false;
  const channel = str(message.channel);
  if (channel !== undefined && channel !== "final") return false; // commentary, analysis
  // A finished message that does not end the turn is narration before a tool call.
  if (message.end_turn === false && channel !== "final" && !stoppedBy(message) &&
    message.status === "finished_successfully") return false;
  const content = readContent(message, ANY_ORIGIN, "output");
  return content !== undefined && (content.text !== undefined || content.images.length > 0);
}

export interface MsgContext {
  base: string;
  parentId: string | undefined;
  /** The stream (or WebSocket turn) is over, so a finished-looking answer will not grow further. */
  turnDone: boolean;
  /** The requested settings of the turn that produced this message. */
  params?: { [key: string]: Json };
}

/** A step message as a Msg (call isStep first). */
export function toMsg(message: Obj, ctx: MsgContext): Msg {
  const id = need(str(message.id), "message.id");
  const role = roleOf(message);
  const metadata = isObj(message.metadata) ? message.metadata : {};
  const content = readContent(message, ctx.base, role === "user" ? "input" : "output") as Content;
  const images = content.images.length ? content.images : undefined;
  if (role === "user") {
    return { id, role: "user", text: content.text, parentId: ctx.parentId, complete: true,
      createdAt: isoTime(message.create_time), images, params: ctx.params };
  }
  const stopped = stoppedBy(message);
  const msg: Msg = {
    id, role: "ai", text: role === "tool" ? undefined : content.text, parentId: ctx.parentId,
    complete: stopped || (messageFinished(message) && ctx.turnDone),
    createdAt: isoTime(message.create_time), images, params: ctx.params,
    meta: cleanParams({
      ...answeringModel(metadata), requested_model: metadata.requested_model_slug,
      image_title: metadata.image_gen_title, ...content.meta,
    }),
  };
  if (stopped) msg.stopped = true;
  return msg;
}
