/** Checks 7 to 10 of a bundle (server verify/author.py, chain.py, coverage.py, derived.py): one author,
 * chains per session and device, nothing unexplained, derived files read as text, not evidence. */
import { DERIVED_NAMES, ofKind } from "./bundle.js";
import { type Ctx, SERVICE_SITE, type Step } from "./context.js";

// 7. author ------------------------------------------------------------------------------------------
function mostCommon(values: string[]): [string, Map<string, number>] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = "";
  let n = -1;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return [best, counts];
}

export function checkAuthor(ctx: Ctx): Record<string, string> {
  const facts: Record<string, string> = {};
  const steps = [...ctx.records.values()];
  const withAccount = steps.filter((r) => r.account).map((r) => r.account);
  if (withAccount.length) {
    const [account, counts] = mostCommon(withAccount);
    facts["account"] = account;
    if (counts.size === 1) ctx.run.add("author", `account ${account}`, "one account", "ok", `every receipt (${counts.get(account)}) names account ${account}`);
    for (const [other, n] of [...counts].sort()) {
      if (other !== account) {
        ctx.run.add("author", `account ${other}`, "one account", "fail",
          `expected every receipt to name account ${account}, found ${n} naming account ${other}: a bundle is one author's evidence`);
      }
    }
  }
  const sessions = steps.filter((r) => r.site !== SERVICE_SITE).map((r) => `${r.site}/${r.sessionId}`);
  if (sessions.length) {
    const [session, counts] = mostCommon(sessions);
    facts["session"] = session;
    for (const [other, n] of [...counts].sort()) {
      if (other !== session) ctx.run.add("author", other, "one session", "fail", `expected every record in session ${session}, found ${n} record(s) of ${other}`);
    }
  }
  // The service's own statements (account and pairing records, and which devices they bind) are judged
  // by promptstamp verify; the browser says so rather than passing them over in silence.
  for (const r of steps.filter((s) => s.site === SERVICE_SITE && (s.type === "account" || s.type === "pairing"))) {
    ctx.run.add("author", `records/${r.id}.json`, `${r.type} record`, "note",
      "not judged in the browser: run promptstamp verify for the account and pairing statements");
  }
  const unsigned = steps.filter((r) => r.site !== SERVICE_SITE && !r.deviceSigned).length;
  if (unsigned) {
    ctx.run.add("author", "records", "device signatures", "note",
      `${unsigned} captured record(s) carry no device signature that holds: they rest on the service's receipt alone`);
  }
  return facts;
}

// 8. chain -------------------------------------------------------------------------------------------
function chainKey(r: Step): string {
  return `${r.site}/${r.sessionId} device ${r.device ?? "(no device)"}`;
}

export function checkChain(ctx: Ctx): void {
  const chains = new Map<string, Step[]>();
  for (const r of ctx.records.values()) chains.set(chainKey(r), [...(chains.get(chainKey(r)) ?? []), r]);
  const byDigest = new Map([...ctx.records.values()].map((r) => [r.digest, r]));
  const foundText = (rec: Step): string => {
    const other = byDigest.get(rec.prev ?? "");
    if (!other) return `${rec.prev}, not in the bundle`;
    const where = `record ${other.id} (seq ${other.seq})`;
    return chainKey(other) !== chainKey(rec) ? `${where} of another chain (${chainKey(other)}): the chain crosses sessions or devices` : where;
  };
  for (const label of [...chains.keys()].sort()) {
    const recs = chains.get(label)!.sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : 1));
    let problems = 0;
    const accounts = [...new Set(recs.filter((r) => r.account).map((r) => r.account))].sort();
    if (accounts.length > 1) {
      problems++;
      ctx.run.add("chain", label, "one account", "fail", `expected one account in a chain, found the chain crosses accounts ${accounts.join(", ")}`);
    }
    let expected = 1;
    let prev: Step | null = null;
    for (const rec of recs) {
      const subject = `records/${rec.id}.json`;
      if (prev && rec.seq === prev.seq) {
        problems++;
        ctx.run.add("chain", subject, "seq", "fail", `duplicated step: records ${prev.id} and ${rec.id} both have seq ${rec.seq}`);
        continue;
      }
      if (rec.seq !== expected) {
        problems++;
        const missing = rec.seq === expected + 1 ? `seq ${expected}` : `seq ${expected} to ${rec.seq - 1}`;
        ctx.run.add("chain", subject, "seq", "fail", `gap: expected seq ${expected}, found ${rec.seq}; ${missing} missing from the bundle`);
      } else if (prev && rec.prev !== prev.digest) {
        problems++;
        ctx.run.add("chain", subject, "prev", "fail", `reordered or altered: expected prev ${prev.digest} (seq ${prev.seq}), found ${foundText(rec)}`);
      } else if (!prev && rec.prev !== null) {
        problems++;
        ctx.run.add("chain", subject, "prev", "fail", `expected prev null for the first step, found ${foundText(rec)}`);
      }
      expected = rec.seq + 1;
      prev = rec;
    }
    const last = recs[recs.length - 1]!.seq;
    if (!problems) ctx.run.add("chain", label, "session chain", "ok", `seq 1..${last} unbroken, every prev is the digest of the step before`);
    ctx.run.add("chain", label, "after the last step", "note", `the chain shows nothing is missing up to seq ${last}; it cannot show steps after it`);
  }
}

// coverage and derived files -------------------------------------------------------------------------
export function checkCoverage(ctx: Ctx): void {
  const f = ctx.files;
  for (const e of ofKind(f, "receipt")) {
    if (!ctx.records.has(e.groups[0]!) && !f.entries.has(`records/${e.groups[0]}.json`)) {
      ctx.run.add("coverage", e.name, "receipt has its record", "fail", `expected records/${e.groups[0]}.json beside this receipt, found missing (removed?)`);
    }
  }
  for (const e of ofKind(f, "blob")) {
    if (!ctx.usedBlobs.has(e.name)) ctx.run.add("coverage", e.name, "blob is an attachment", "fail", "expected every blob to be named by a record's attachments, found none naming it");
  }
  for (const bid of ctx.batches.keys()) {
    if (!ctx.usedBatches.has(bid)) ctx.run.add("coverage", `batches/${bid}/`, "batch holds a record", "fail", "expected every batch to hold a record of the bundle, found none");
  }
  for (const kid of ctx.keys.keys()) {
    if (!ctx.usedKeys.has(kid)) ctx.run.add("coverage", `keys/${kid}.pem`, "key signs a receipt", "note", "no receipt uses this key");
  }
  for (const kid of ctx.deviceKeys.keys()) {
    if (!ctx.usedDeviceKeys.has(kid)) ctx.run.add("coverage", `keys/devices/${kid}.pem`, "device key signs a record", "note", "no record's receipt names this device key");
  }
}

export function checkDerived(ctx: Ctx): void {
  // The human-readable files are the exporter's text, never evidence (DESIGN.md, second release).
  // The service's verifier re-renders them from the verified records and compares bytes; its renderer is
  // Python, so this one says plainly that it did not.
  for (const name of DERIVED_NAMES) {
    if (ctx.files.data.has(name)) {
      ctx.run.add("derived", name, "re-rendered from the records", "note",
        "not re-derived by this verifier (the browser does not re-render reports; promptstamp verify does): read it as " +
        "the exporter's text, not as evidence; the checks above are what the evidence proves");
    }
  }
}


export function checkExhibit(ctx: Ctx): void {
  // report.pdf is held by its PAdES signature and time-stamps, which promptstamp verify checks (server
  // verify/exhibit.py); this verifier does not parse PDF signatures, so it says so instead of vouching.
  if (ctx.files.data.has("report.pdf")) {
    ctx.run.add("exhibit", "report.pdf", "signed by a service key, time-stamped", "note",
      "not checked in the browser (its PAdES signature and time-stamps are checked by promptstamp verify): read it " +
      "as the exporter's document, not as evidence; the checks above are what the evidence proves");
  }
}
