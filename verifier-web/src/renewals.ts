/**
 * Check 5b, long-term (server verify/renewals.py, in its words): each batch's time still rests on a certificate
 * valid at the verification time, directly or through its RFC 4998 evidence record (``batches/<id>/evidence.ers``).
 *
 * A token is checked at its genTime (check 5). Once its TSA certificate has expired, that alone no longer proves
 * the time: a key may be compromised after its certificate ends. What carries the proof on is an archive
 * time-stamp made while the certificate was still valid, over the token's file, then each later archive
 * time-stamp over the one before, made before that one's certificate expired, up to one whose certificate is
 * valid at the verification time (RFC 4998 §5.3). A batch whose tokens have all lapsed without such a chain is
 * not invalid, but its time rests on something the verifier cannot check: it is reported untrusted, with the date.
 *
 * For each archive time-stamp: its reduced hash tree leads from the hash of what it covers to its token's imprint
 * (§4.3); its token passes every token check at its genTime against the roots the visitor gave, with the
 * certificates it carries; and the OCSP responses it carries are judged at its genTime (ocsp.ts).
 */
import { hex, sha256 } from "./bytes.js";
import type { BatchState, Ctx, Standing } from "./context.js";
import { type ArchiveStamp, decodeEvidenceRecord, rootOf } from "./ers.js";
import { judge, type OcspStatus, readBasic } from "./ocsp.js";
import { isoUtc, Untrusted } from "./report.js";
import { developmentDetail, DEV_TSA_POLICY, TokenError, type TokenVerdict, UntrustedRoot, verifyToken } from "./tokens.js";

const EVIDENCE_RECORD = "evidence.ers";

export async function checkRenewals(ctx: Ctx, chainCerts: Uint8Array[]): Promise<void> {
  const at = ctx.trust.at ?? new Date();
  for (const bid of [...ctx.batches.keys()].sort()) {
    const state = ctx.batches.get(bid)!;
    const name = `batches/${bid}/${EVIDENCE_RECORD}`;
    const present = ctx.files.data.has(name);
    if (!state.root || (!present && state.standing.every((s) => s.validAt))) continue;
    await ctx.run.check("batches", present ? name : `batches/${bid}/`, "time-stamp valid long-term",
      () => longTerm(ctx, bid, state, present ? name : null, at, chainCerts));
  }
}

interface Carried {
  covered: Set<string>; // the batch files the first archive time-stamp covers
  text: string;
  lastValid: boolean; // the last archive time-stamp's path is valid at the verification time
  firstTime: Date;
}

async function longTerm(ctx: Ctx, bid: string, state: BatchState, name: string | null, at: Date,
  chainCerts: Uint8Array[]): Promise<string> {
  const when = isoUtc(at);
  const renewals = name ? await evidenceRecord(ctx, bid, name, chainCerts) : null;
  const direct = state.standing.filter((s) => s.validAt);
  if (!renewals && direct.length) { // another TSA's token still proves the time on its own
    const lapsed = state.standing.filter((s) => !s.validAt).map((s) => `${s.name} (${expiry(s)})`).join(", ");
    return `${direct[0]!.name} is valid at ${when}; lapsed without an archive time-stamp: ${lapsed}`;
  }
  if (!renewals) {
    const lapsed = state.standing.map((s) => `${s.name} (${expiry(s)})`).join(", ");
    ctx.restsOn.push(`LAPSED TSA certificate: batch ${bid} has no archive time-stamp`);
    throw new Untrusted(`expected a TSA certificate valid at ${when} or an archive time-stamp made before it expired, ` +
      `found neither: ${lapsed}; the time then rests on the TSA's key having stayed safe after its certificate ended ` +
      "(run 'promptstamp renew' on the service before certificates expire)");
  }
  const { covered, text, lastValid, firstTime } = renewals;
  if (direct.length) return `${direct[0]!.name} is valid at ${when}; and ${text}`;
  const carried = state.standing.filter((s) => covered.has(s.name) && (s.expires === null || firstTime < s.expires));
  if (!carried.length) {
    throw new Error(`expected the first archive time-stamp (${isoUtc(firstTime)}) to cover a token before its ` +
      "certificate expired, found none it carries: " + state.standing.map((s) => `${s.name} (${expiry(s)})`).join(", "));
  }
  if (!lastValid) {
    ctx.restsOn.push(`LAPSED archive time-stamp: batch ${bid}'s last renewal is not valid at ${when}`);
    throw new Untrusted(`expected the last archive time-stamp's certificate valid at ${when}, found it lapsed: ${text}; renew again`);
  }
  return `${carried[0]!.name} (${expiry(carried[0]!)}) is carried to ${when} by ${text}`;
}

function expiry(s: Standing): string {
  return s.expires ? `certificate expires ${isoUtc(s.expires)}` : "no expiry on its path";
}

/** Verify the record's chain of archive time-stamps, oldest first; throws for anything that does not hold. */
async function evidenceRecord(ctx: Ctx, bid: string, name: string, chainCerts: Uint8Array[]): Promise<Carried> {
  let chain: ArchiveStamp[];
  try {
    chain = decodeEvidenceRecord(ctx.files.data.get(name)!);
  } catch (e) {
    throw new Error(`evidence record: ${(e as Error).message}`, { cause: e });
  }
  const prefix = `batches/${bid}/`;
  const firstList = new Set((chain[0]!.reduced[0] ?? []).map(hex));
  const covered = new Set([...ctx.files.data.keys()]
    .filter((n) => n.startsWith(prefix) && n !== name && firstList.has(hex(ctx.files.digests.get(n)!))));
  if (!covered.size) throw new Error("expected the first archive time-stamp to cover files of this batch, found none of their hashes");
  const subject = [...covered].sort()[0]!;
  let previous: TokenVerdict | null = null;
  let firstTime: Date | null = null;
  const parts: string[] = [];
  for (const [n, stamp] of chain.entries()) {
    const i = n + 1;
    const digest = previous === null ? ctx.files.digests.get(subject)! : await sha256(chain[n - 1]!.token);
    let root: Uint8Array;
    try {
      root = await rootOf(stamp.reduced, digest);
    } catch (e) {
      throw new Error(`archive time-stamp ${i}: ${(e as Error).message}`, { cause: e });
    }
    const verdict = await verifyStamp(ctx, stamp, root, i, chainCerts);
    const gen = verdict.info.genTime;
    if (previous?.expires && gen >= previous.expires) {
      throw new Error(`archive time-stamp ${i} (${isoUtc(gen)}) was made after the certificate of time-stamp ${i - 1} ` +
        `expired (${isoUtc(previous.expires)}): the chain is broken`);
    }
    parts.push(`${isoUtc(gen)} by '${verdict.info.signerSubject}'`);
    firstTime ??= gen;
    previous = verdict;
  }
  return {
    covered, text: `archive time-stamp${chain.length > 1 ? "s" : ""} (RFC 4998) of ${parts.join(", then ")}`,
    lastValid: previous!.validNow, firstTime: firstTime!,
  };
}

/** An archive time-stamp: every token check at its genTime, over the root its reduced hash tree leads to, against
 * the roots the visitor gave, with the certificates it carries (certValues) and the bundle's TSA certificates. */
async function verifyStamp(ctx: Ctx, stamp: ArchiveStamp, root: Uint8Array, i: number, chainCerts: Uint8Array[]): Promise<TokenVerdict> {
  let verdict: TokenVerdict;
  try {
    verdict = await verifyToken(stamp.token, {
      digest: root, roots: ctx.trust.tsaRoots, extraCerts: [...stamp.certificates, ...chainCerts],
      ...(ctx.trust.at ? { at: ctx.trust.at } : {}),
    });
  } catch (e) {
    if (e instanceof UntrustedRoot) {
      ctx.restsOn.push(`UNTRUSTED TSA root of an archive time-stamp: chain stops at '${e.stoppedAt}'`);
      throw new Untrusted(e.message, { cause: e });
    }
    if (e instanceof TokenError) throw new Error(`archive time-stamp ${i}: the ${e.check} check failed: ${e.message}`, { cause: e });
    throw new Error(`archive time-stamp ${i}: malformed token: ${(e as Error).message}`, { cause: e });
  }
  const development = developmentDetail(verdict.info);
  if (development) {
    ctx.restsOn.push(`UNTRUSTED TSA: the development TSA (policy ${DEV_TSA_POLICY})`);
    throw new Untrusted(`archive time-stamp ${i}: ${development}`);
  }
  ctx.restsOn.push(`TSA root '${verdict.rootSubject}' (given by you)`);
  await revocation(stamp, verdict, i);
  return verdict;
}

/** The OCSP responses an archive time-stamp carries, judged at its genTime (none carried: not judged). */
async function revocation(stamp: ArchiveStamp, verdict: TokenVerdict, i: number): Promise<void> {
  for (const [n, cert] of verdict.chain.slice(0, -1).entries()) {
    for (const response of stamp.ocspResponses) {
      let status: OcspStatus;
      try {
        status = await readBasic(response, cert, verdict.chain[n + 1]!);
      } catch {
        continue; // a response about another certificate of the chain
      }
      const judgement = judge(status, verdict.info.genTime);
      if (!judgement.valid) throw new Error(`archive time-stamp ${i}: TSA certificate revoked: ${judgement.detail}`);
    }
  }
}
