/**
 * The verdict in one paragraph of plain words, for the top of the page: what a lawyer or a judge
 * needs before the details ("Step 3, the edited prompt, was changed after it was stamped").
 */
import type { Check, Report } from "./report.js";

const KINDS: Record<string, string> = {
  prompt: "the prompt", output: "the AI's output", edit: "the edited prompt", regenerate: "the regeneration",
  parameters: "the settings change", selection: "the chosen output", note: "the note", import: "the imported step",
  identity: "the site account step", drift: "the capture-gap step", account: "the account record",
  pairing: "the pairing record",
};

const RECORD_NAME = /^(?:records|receipts)\/([0-9A-HJKMNP-TV-Z]{26})\.json$/;

function stepName(report: Report, subject: string): string | null {
  const id = RECORD_NAME.exec(subject)?.[1];
  const step = id ? report.steps?.[id] : undefined;
  if (!step) return null;
  return `Step ${step.seq}, ${KINDS[step.type] ?? `a ${step.type} step`}`;
}

/** One sentence for one failed check, naming the step where a record is concerned. */
function sentence(report: Report, c: Check): string {
  const step = stepName(report, c.subject);
  if (step && c.check === "receipt signature" && c.detail.includes("changed after it was signed")) {
    return `${step}, was changed after it was stamped.`;
  }
  if (step && c.check.startsWith("attachment")) return `${step}, has an image or file that is not the one that was stamped.`;
  if (step && c.check === "seq" && c.detail.includes("missing")) return `A step is missing before ${step.toLowerCase()}.`;
  if (step && c.check === "prev") return `${step}, does not follow the step before it: steps were removed, reordered or altered.`;
  if (step && c.check === "receipt signature") return `${step}, does not carry a valid signature of the service.`;
  if (step && c.check.startsWith("device")) return `${step}, does not carry a valid signature of the creator's device.`;
  if (step) return `${step}: ${c.check} failed (${c.detail}).`;
  return `${c.subject}: ${c.check} failed (${c.detail}).`;
}

export function plainVerdict(report: Report): string {
  const steps = report.steps ? Object.keys(report.steps).length : 0;
  const what = report.kind === "bundle" ? `this evidence (${steps} recorded step${steps === 1 ? "" : "s"})` : "this time-stamp";
  if (report.exit_code === 0) {
    return `Valid and trusted: ${what} is exactly as it was signed and time-stamped, and it rests only on the ` +
      "time-stamp authorities and service keys you said you trust. Details are folded below.";
  }
  if (report.exit_code === 2) {
    const untrusted = report.checks.filter((c) => c.outcome === "untrusted").map((c) => c.detail);
    return `Intact, but not proven to you: every check of ${what} holds, yet it rests on something you did not ` +
      `say you trust (${[...new Set(untrusted)].slice(0, 2).join("; ")}). Give the TSA's root certificate and the ` +
      "service's key, from their own publications, to check against them. Details are folded below.";
  }
  const failed = report.checks.filter((c) => c.outcome === "fail");
  const told = [...new Set(failed.map((c) => sentence(report, c)))];
  const shown = told.slice(0, 3).join(" ");
  const more = told.length > 3 ? ` ${told.length - 3} more problem${told.length - 3 === 1 ? "" : "s"} below.` : "";
  return `Not valid: ${what} does not hold as it is. ${shown}${more} Details are folded below.`;
}
