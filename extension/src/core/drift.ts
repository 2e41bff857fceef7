/**
 * A capture that failed becomes evidence of its own (DESIGN.md, second release: a `drift` record is
 * a gap that is evidenced, not hidden): what was not captured, where, and by which adapter version.
 */
import type { DriftCode } from "../adapters/types.ts";
import { compact, refsOf, type Draft, type SessionRef } from "./record.ts";

export const DRIFT_LABEL: { [code in DriftCode]: string } = {
  "unknown-shape": "the site answered in a shape the adapter does not know",
  "no-parse": "a reply was seen but nothing in it could be read",
  "no-answer": "a prompt got no recorded answer in time",
  "page-ahead": "the page shows more turns than were recorded",
  dom: "the page's markup no longer matches the adapter",
};

export interface DriftFact {
  code: DriftCode;
  /** What exactly, in words (the adapter's reason, the prompt's message id, the counts). */
  detail: string;
  /** Where: the page address. */
  pageUrl?: string;
  /** The site message the gap concerns, when there is one. */
  messageId?: string;
}

/** Actor `user`: the step is made on the user's device, about the user's session; the AI made nothing. */
export function driftDraft(session: SessionRef, adapter: string, fact: DriftFact): Draft {
  const where = fact.pageUrl ? ` at ${fact.pageUrl}` : "";
  return compact({
    type: "drift", actor: "user", session, adapter,
    text: `Capture gap (${fact.code}): ${DRIFT_LABEL[fact.code]}${where}. ${fact.detail}`.slice(0, 4000),
    params: { code: fact.code, adapter },
    refs: fact.messageId ? refsOf({ message_id: fact.messageId }) : undefined,
  } satisfies Draft);
}
