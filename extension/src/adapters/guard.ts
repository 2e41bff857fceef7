/**
 * Drift with a reason code: a parser throws `CodedDrift` for what it recognises as broken, and
 * `guardedWithCode` turns that (or any shape error) into one drift observation, never a partial record.
 */
import type { DriftCode, Observation } from "./types.ts";
import { Drift } from "./util.ts";

export class CodedDrift extends Drift {
  constructor(message: string, readonly code: DriftCode = "unknown-shape") {
    super(message);
  }
}

export function guardedWithCode(what: string, sessionId: string | undefined, parse: () => Observation[]): Observation[] {
  try {
    return parse();
  } catch (e) {
    const reason = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    const code: DriftCode = e instanceof CodedDrift ? e.code : "unknown-shape";
    return [sessionId ? { kind: "drift", reason, code, sessionId } : { kind: "drift", reason, code }];
  }
}

/** How many elements of the given selectors the page shows (DomHealth.turns). */
export function countTurns(doc: Document, selectors: readonly string[]): number {
  return doc.querySelectorAll(selectors.join(", ")).length;
}
