/** A bare RFC 3161 token over data or a digest: one report row per token check, in order (server token_report.py). */
import { hex } from "./bytes.js";
import { isoUtc, type Outcome, type Report, Run } from "./report.js";
import { CHECKS, developmentDetail, DEV_TSA_POLICY, TokenError, tokenInfo, UntrustedRoot, verifyToken } from "./tokens.js";
import type { Trust } from "./trust.js";

// bare tokens ----------------------------------------------------------------------------------------
const NOT_ASKED: Record<string, string> = { nonce: "not compared (no request given)", policy: "not compared (no policy required)" };

export async function checkToken(token: Uint8Array, trust: Trust, over: { data?: Uint8Array; digest?: Uint8Array },
  extraCerts: Uint8Array[] = []): Promise<Report> {
  const run = new Run();
  const rests: string[] = [];
  const facts: Record<string, string> = {};
  try {
    const info = tokenInfo(token);
    Object.assign(facts, { genTime: isoUtc(info.genTime), imprint: `${info.imprintAlgorithm}:${hex(info.imprint)}`, policy: info.policy,
      serial: info.serial, signer: info.signerSubject ?? "(no signer certificate in the token)" });
  } catch {
    // the structure row says what is wrong
  }
  let failedAt: string | null = null;
  let outcome: Outcome = "ok";
  let detail = "";
  let notes: string[] = [];
  try {
    const verdict = await verifyToken(token, { ...over, roots: trust.tsaRoots, extraCerts, ...(trust.at ? { at: trust.at } : {}) });
    const development = developmentDetail(verdict.info);
    if (development) {
      [failedAt, outcome, detail] = ["chain", "untrusted", development];
      rests.push(`UNTRUSTED TSA: the development TSA (policy ${DEV_TSA_POLICY})`);
    } else {
      rests.push(`TSA root '${verdict.rootSubject}' (given by you)`);
    }
    notes = verdict.notes;
  } catch (e) {
    if (e instanceof UntrustedRoot) {
      [failedAt, outcome, detail] = ["chain", "untrusted", e.message];
      rests.push(`UNTRUSTED TSA root: chain stops at '${e.stoppedAt}'`);
    } else if (e instanceof TokenError) {
      [failedAt, outcome, detail] = [e.check, "fail", e.message];
    } else {
      [failedAt, outcome, detail] = ["structure", "fail", (e as Error).message];
    }
  }
  for (const name of CHECKS) {
    if (name === failedAt) {
      run.add("token", "token", name, outcome, detail);
      break;
    }
    run.add("token", "token", name, "ok", NOT_ASKED[name] ?? "holds");
  }
  if (failedAt === null) for (const note of notes) run.add("token", "token", "note", "note", note);
  return run.report("token", rests, facts);
}
