/**
 * Doubao's message content (live-traffic-2026.md §2.8, capture-sites.md §1): an AI message
 * (`content_type` 9999) carries its text mainly as a JSON-array string in `content`, and
 * `content_block[]` only sometimes: `block_type` 10000 is text (`text_block.text`), 2074 an image
 * creation (`creation_block.creations[].image`). Thinking and tool blocks are not the answer.
 */
import type { ImageRef } from "../core/record.ts";
import { arr, isObj, mediaTypeFromUrl, parseJson, str, type Obj } from "./util.ts";

export const TEXT_BLOCK = 10000;
export const CREATION_BLOCK = 2074;
/** The original first (GF's order): the raw original, the raw, the original rendition, the preview. */
const IMAGE_KEYS = ["image_ori_raw", "image_raw", "image_ori", "image_preview"];

export function blockContent(b: Obj): Obj {
  if (isObj(b.content)) return b.content;
  const parsed = parseJson(str(b.content));
  return isObj(parsed) ? parsed : {};
}

export function bestImage(image: Obj): string | undefined {
  for (const key of IMAGE_KEYS) {
    const v = image[key];
    const url = isObj(v) ? str(v.url) : str(v);
    if (url?.startsWith("https://")) return url;
  }
  return undefined;
}

export interface Content { text?: string; images: ImageRef[]; imagePrompt?: string }

/** Text and images of a list of content blocks; a block id seen twice keeps its last version. */
export function readBlocks(blocks: unknown[]): Content {
  const byId = new Map<string, Obj>();
  blocks.filter(isObj).forEach((b, i) => byId.set(str(b.block_id) ?? `#${i}`, b));
  const texts: string[] = [];
  const images: ImageRef[] = [];
  let imagePrompt: string | undefined;
  for (const b of byId.values()) {
    const c = blockContent(b);
    if (b.block_type === TEXT_BLOCK && isObj(c.text_block)) texts.push(str(c.text_block.text) ?? "");
    if (b.block_type === CREATION_BLOCK && isObj(c.creation_block)) {
      for (const cr of arr(c.creation_block.creations) ?? []) {
        const img = isObj(cr) && isObj(cr.image) ? cr.image : undefined;
        const url = img ? bestImage(img) : undefined;
        if (url) images.push({ url, role: "output", mediaType: mediaTypeFromUrl(url) });
        const gp = img && isObj(img.gen_params) ? str(img.gen_params.prompt) : undefined;
        imagePrompt ??= gp;
      }
    }
  }
  return { text: texts.join("").trim() || undefined, images, imagePrompt };
}

/** The text of `content`: a JSON-array string of `{text}` parts (9999), or one `{text}` object (user). */
export function contentText(content: unknown): string | undefined {
  const parsed = typeof content === "string" ? parseJson(content) : content;
  if (Array.isArray(parsed)) {
    const parts = parsed.filter(isObj).map((p) => str(p.text) ?? (isObj(p.text_block) ? str(p.text_block.text) : undefined) ?? "");
    return parts.join("").trim() || undefined;
  }
  if (isObj(parsed)) return str(parsed.text)?.trim() || undefined;
  return typeof content === "string" && parsed === undefined ? content.trim() || undefined : undefined;
}

/** A whole message's content: blocks when they say something, else the `content` string. */
export function messageContent(m: Obj): Content {
  const fromBlocks = readBlocks(arr(m.content_block) ?? []);
  if (fromBlocks.text || fromBlocks.images.length) return fromBlocks;
  return { text: contentText(m.content), images: [] };
}
