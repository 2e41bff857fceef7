/**
 * Where a Perplexity ask keeps its answer, by build (live-traffic-2026.md §2.7 [SBO]):
 * `blocks[].markdown_block.answer` or `.chunks[]`; `blocks[].workflow_block.steps[].items[]
 * .payload.text_payload.text`; with `use_schematized_api` the answer is itself a JSON string
 * `{"answer": …}`; older builds put a JSON string of steps in `text`, the answer in the
 * `step_type: "FINAL"` step. One snapshot can hold the same answer twice (`ask_text_0_markdown`
 * and `ask_text`): the `ask_text` block wins and duplicates are never concatenated.
 */
import { arr, isObj, parseJson, str, type Obj } from "./util.ts";

/** A schematized answer is a JSON string `{"answer": …}`; plain markdown stays as it is. */
function unwrap(text: string): string {
  const t = text.trim();
  if (t.startsWith("{")) {
    const parsed = parseJson(t);
    if (isObj(parsed) && typeof parsed.answer === "string") return parsed.answer.trim();
  }
  return t;
}

function markdownOf(block: Obj): string | undefined {
  const md = isObj(block.markdown_block) ? block.markdown_block : undefined;
  if (!md) return undefined;
  const answer = str(md.answer);
  if (answer?.trim()) return unwrap(answer);
  const chunks = (arr(md.chunks) ?? []).filter((c): c is string => typeof c === "string");
  return chunks.length ? unwrap(chunks.join("")) || undefined : undefined;
}

function workflowOf(block: Obj): string | undefined {
  const wf = isObj(block.workflow_block) ? block.workflow_block : undefined;
  if (!wf) return undefined;
  const texts: string[] = [];
  for (const s of arr(wf.steps) ?? []) {
    for (const item of (isObj(s) ? arr(s.items) : undefined) ?? []) {
      const payload = isObj(item) && isObj(item.payload) && isObj(item.payload.text_payload) ? item.payload.text_payload : undefined;
      const text = str(payload?.text)?.trim();
      if (text && !texts.includes(text)) texts.push(text);
    }
  }
  return texts.length ? unwrap(texts.join("\n\n")) : undefined;
}

function finalStepOf(text: string | undefined): string | undefined {
  const steps = arr(parseJson(text));
  if (!steps) return undefined;
  for (const s of steps) {
    if (!isObj(s) || s.step_type !== "FINAL") continue;
    const content = isObj(s.content) ? s.content : undefined;
    const answer = str(content?.answer);
    if (answer?.trim()) return unwrap(answer);
  }
  return undefined;
}

/** The answer of one ask snapshot (stream frame or thread entry), or undefined when it has none yet. */
export function answerOf(ask: Obj): string | undefined {
  const blocks = (arr(ask.blocks) ?? []).filter(isObj);
  const usage = (b: Obj) => str(b.intended_usage) ?? "";
  // Prefer the block meant as the answer, then any other answer-bearing block, one of them only.
  const ordered = [...blocks.filter((b) => usage(b) === "ask_text"), ...blocks.filter((b) => usage(b) !== "ask_text")];
  for (const b of ordered) {
    const text = markdownOf(b) ?? workflowOf(b);
    if (text) return text;
  }
  const text = str(ask.text);
  const fromSteps = finalStepOf(text);
  if (fromSteps) return fromSteps;
  if (text?.trim() && !text.trim().startsWith("[")) return unwrap(text);
  return str(ask.answer)?.trim() || undefined;
}
