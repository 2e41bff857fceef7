/**
 * Claude's completion stream (live-traffic-2026.md §2.2, CAR): SSE `message_start` ->
 * `content_block_start` / `content_block_delta` (`text_delta`, `thinking_delta`, `thinking_summary_delta`,
 * `input_json_delta`) / `content_block_stop` -> `message_delta` -> `message_limit` -> `message_stop`.
 * Whether every frame has an `event:` line is unverified, so the `data:` JSON's `type` decides.
 * Thinking is not the answer; artifacts (`tool_use` named `artifacts`) are deliverables and join the text.
 */
import { isObj, parseJson, str, type Obj, type SseEvent } from "./util.ts";

/** Stop reasons that mean the answer was cut short by the user (the app's stop button). */
export const CANCELLED = new Set(["user_canceled", "user_cancelled", "cancelled", "canceled"]);

interface Block {
  type: string;
  name?: string;
  text: string;
  json: string;
  input?: Obj;
}

export interface ClaudeStream {
  uuid?: string;
  parentUuid?: string;
  /** The visible answer: text blocks and artifact contents, in block order. */
  text: string;
  artifactTitles: string[];
  stopReason?: string;
  /** `message_stop` seen: the only proof that the answer is finished. */
  finished: boolean;
  error?: string;
  understood: number;
  started: boolean;
}

const KNOWN = new Set([
  "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
  "message_limit", "message_stop", "ping", "error", "completion",
]);

export function readStream(events: readonly SseEvent[]): ClaudeStream {
  const out: ClaudeStream = { text: "", artifactTitles: [], finished: false, understood: 0, started: false };
  const blocks = new Map<number, Block>();
  for (const ev of events) {
    const data = parseJson(ev.data);
    if (!isObj(data)) continue;
    const type = str(data.type) ?? ev.event;
    if (!KNOWN.has(type)) continue;
    out.understood++;
    const index = typeof data.index === "number" ? data.index : -1;
    if (type === "message_start" && isObj(data.message)) {
      out.started = true;
      out.uuid = str(data.message.uuid);
      out.parentUuid = str(data.message.parent_uuid);
    } else if (type === "content_block_start" && isObj(data.content_block)) {
      const b = data.content_block;
      blocks.set(index, { type: str(b.type) ?? "", name: str(b.name), text: str(b.text) ?? "", json: "",
        input: isObj(b.input) && Object.keys(b.input).length ? b.input : undefined });
    } else if (type === "content_block_delta" && isObj(data.delta)) {
      const block = blocks.get(index);
      const d = data.delta;
      if (!block) continue;
      if (d.type === "text_delta") block.text += str(d.text) ?? "";
      else if (d.type === "input_json_delta") block.json += str(d.partial_json) ?? "";
      // thinking_delta, thinking_summary_delta, signature_delta: not the answer.
    } else if (type === "content_block_stop") {
      const block = blocks.get(index);
      if (block?.type === "tool_use" && block.json) {
        const input = parseJson(block.json);
        if (isObj(input)) block.input = input;
      }
    } else if (type === "message_delta" && isObj(data.delta)) {
      out.stopReason = str(data.delta.stop_reason) ?? out.stopReason;
    } else if (type === "message_stop") {
      out.finished = true;
    } else if (type === "error") {
      out.error = isObj(data.error) ? str(data.error.message) ?? str(data.error.type) ?? "error" : "error";
    }
  }
  const artifacts = new Map<string, string>();
  const parts: string[] = [];
  for (const key of [...blocks.keys()].sort((a, b) => a - b)) {
    const block = blocks.get(key) as Block;
    if (block.type === "text" && block.text.trim()) parts.push(block.text.trim());
    else if (block.type === "tool_use" && block.name === "artifacts" && block.input) {
      const content = artifactContent(block.input, artifacts);
      if (content) parts.push(content);
      const title = str(block.input.title);
      if (title) out.artifactTitles.push(title);
    }
  }
  out.text = parts.join("\n\n");
  return out;
}

/**
 * An artifact's deliverable text: `create`/`rewrite` carry the whole content, `update` replaces
 * `old_str` with `new_str` in the artifact as last seen in the same message.
 */
export function artifactContent(input: Obj, seen: Map<string, string>): string | undefined {
  const id = str(input.id) ?? "";
  const command = str(input.command) ?? "create";
  let content = str(input.content);
  if (command === "update") {
    const before = seen.get(id);
    const oldStr = str(input.old_str);
    const newStr = str(input.new_str);
    if (before !== undefined && oldStr !== undefined && newStr !== undefined) content = before.replace(oldStr, newStr);
  }
  if (content === undefined) return undefined;
  seen.set(id, content);
  return content.trim() || undefined;
}
