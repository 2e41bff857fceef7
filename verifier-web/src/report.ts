/** What verification found, in the service verifier's words (server verdict.py): checks, anchors, exit code. */

export type Outcome = "ok" | "fail" | "untrusted" | "note";

export interface Check {
  step: string;
  subject: string;
  check: string;
  outcome: Outcome;
  detail: string;
}

export interface Report {
  kind: "bundle" | "token";
  verdict: string;
  exit_code: 0 | 1 | 2;
  valid: boolean;
  trusted: boolean;
  rests_on: string[];
  facts: Record<string, string | number>;
  counts: Partial<Record<Outcome, number>>;
  checks: Check[];
  /** Record id -> its place and kind in the session (bundles only; not part of the CLI's JSON). */
  steps?: Record<string, { seq: number; type: string }>;
}

/** An error whose outcome is "untrusted": intact, but resting on an anchor the visitor did not give. */
export class Untrusted extends Error {}

export class Run {
  readonly checks: Check[] = [];

  add(step: string, subject: string, check: string, outcome: Outcome, detail: string): Outcome {
    this.checks.push({ step, subject, check, outcome, detail });
    return outcome;
  }

  async check(step: string, subject: string, name: string, fn: () => Promise<string> | string): Promise<Outcome> {
    try {
      return this.add(step, subject, name, "ok", await fn());
    } catch (e) {
      return this.failed(step, subject, name, e);
    }
  }

  /** ``check`` for a check with nothing to wait for: no round trip through the event loop. */
  checkNow(step: string, subject: string, name: string, fn: () => string): Outcome {
    try {
      return this.add(step, subject, name, "ok", fn());
    } catch (e) {
      return this.failed(step, subject, name, e);
    }
  }

  private failed(step: string, subject: string, name: string, e: unknown): Outcome {
    const detail = e instanceof Error ? e.message : String(e);
    return this.add(step, subject, name, e instanceof Untrusted ? "untrusted" : "fail", detail);
  }

  report(kind: Report["kind"], restsOn: string[] = [], facts: Report["facts"] = {}): Report {
    const failures = this.checks.filter((c) => c.outcome === "fail").length;
    const untrusted = this.checks.some((c) => c.outcome === "untrusted");
    const exit = failures || !this.checks.some((c) => c.outcome === "ok") ? 1 : untrusted ? 2 : 0;
    const counts: Report["counts"] = {};
    for (const c of this.checks) counts[c.outcome] = (counts[c.outcome] ?? 0) + 1;
    const verdict = exit === 1 ? `INVALID: ${failures} check(s) failed`
      : exit === 2 ? "VALID BUT NOT TRUSTED: internally consistent, resting on anchors you did not give"
        : "VALID: every check holds against the anchors you gave";
    return {
      kind, verdict, exit_code: exit, valid: exit !== 1, trusted: exit === 0,
      rests_on: [...new Set(restsOn)], facts, counts, checks: this.checks,
    };
  }
}

export function isoUtc(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === "000" ? "Z" : `.${ms}000Z`));
}

/** The earliest and the latest of some moments (at least one). A loop, not Math.min(...): V8 overflows its
 * stack on a spread of 150,000 arguments, and a bundle the page opens may hold 100,000 records. */
export function span(moments: Date[]): [Date, Date] {
  let first = moments[0]!.getTime();
  let last = first;
  for (const d of moments) {
    first = Math.min(first, d.getTime());
    last = Math.max(last, d.getTime());
  }
  return [new Date(first), new Date(last)];
}
