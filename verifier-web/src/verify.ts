/**
 * Bundle verification in the browser, in the order and words of the service's verifier (server verify/):
 *  1 container, 2 manifest, 3 sums, 4 keys, 5 batches (then long-term: renewals.ts), 6 records, 7 author, 8 chain,
 *  coverage, derived.
 * A failure in one check never stops the others. Trust comes only from the visitor (Trust).
 */
import { decodeUtf8, fromBase64, fromHex, hex, utf8 } from "./bytes.js";
import { type BatchState, CLOCK_SKEW_MS, Ctx, type Step, type TokenResult } from "./context.js";
import { parseManifest, parseSums } from "./listings.js";
import { revocationDetail } from "./ocsp.js";
import { checkRenewals } from "./renewals.js";
import { checkAuthor, checkChain, checkCoverage, checkDerived, checkExhibit } from "./steps.js";
import {
  type BundleFiles, ContainerError, FIXED_NAMES, OPTIONAL_NAMES, REPORTS, inManifest, inSums, MANIFEST, MANIFEST_TOKEN, MIMETYPE, ofKind,
  readBundle, SUMS, SUMS_TOKEN,
} from "./bundle.js";
import { parseCanonical, parseJson } from "./jcs.js";
import { verifyInclusion } from "./merkle.js";
import { receiptFrom, recordFrom, TIMESTAMP_RE, type Receipt, type RecordView } from "./model.js";
import { isoUtc, type Outcome, type Report, Run, span, Untrusted } from "./report.js";
import { developmentDetail, DEV_TSA_POLICY, pemCertificates, TokenError, UntrustedRoot, verifyToken } from "./tokens.js";
import { fingerprintText, keyId, publicKeyFromPem, type Trust, trustsKey, verifyEd25519 } from "./trust.js";

function text(files: BundleFiles, name: string): string {
  return decodeUtf8(files.data.get(name) ?? new Uint8Array(), name);
}

export async function checkBundle(zip: Uint8Array, trust: Trust): Promise<Report> {
  const run = new Run();
  let files: BundleFiles;
  try {
    files = await readBundle(zip);
  } catch (e) {
    if (!(e instanceof ContainerError)) throw e;
    run.add("container", "container", "readable ASiC-E container", "fail", e.message);
    return run.report("bundle");
  }
  const ctx = new Ctx(files, trust, run);
  checkContainer(ctx);
  await signedListing(ctx, "manifest", MANIFEST, MANIFEST_TOKEN, "ASiC manifest form", parseManifest, inManifest);
  await signedListing(ctx, "sums", SUMS, SUMS_TOKEN, "SHA256SUMS form", parseSums, inSums);
  await checkKeys(ctx);
  await checkDeviceKeys(ctx);
  await checkBatches(ctx);
  await checkRenewals(ctx, allChainCerts(ctx));
  const facts = await checkRecords(ctx);
  Object.assign(facts, checkAuthor(ctx));
  checkChain(ctx);
  checkCoverage(ctx);
  checkDerived(ctx);
  checkExhibit(ctx);
  const report = run.report("bundle", ctx.restsOn, facts);
  // Which step each record is, for the plain-words verdict ("step 3, the edited prompt, ...").
  report.steps = Object.fromEntries([...ctx.records].map(([id, s]) => [id, { seq: s.seq, type: s.type }]));
  return report;
}

// 1. container -------------------------------------------------------------------------------------
function checkContainer(ctx: Ctx): void {
  const f = ctx.files;
  ctx.run.add("container", "container", "ASiC-E container", "ok",
    `ZIP with ${f.digests.size + 1} files, mimetype first and stored: ${MIMETYPE}`);
  for (const name of f.unknown) {
    ctx.run.add("container", name, "known file name", "fail",
      "expected only the names DESIGN.md lists (records/, receipts/, blobs/, batches/, keys/, " +
      "README.txt, report.html, report.zh.html, report.pdf, verify.sh, SHA256SUMS[.tst], META-INF/), found an unknown file");
  }
  for (const name of FIXED_NAMES) {
    if (name !== "mimetype" && !REPORTS.includes(name) && !OPTIONAL_NAMES.includes(name) && !f.entries.has(name)) {
      ctx.run.add("container", name, "required file", "fail", "expected in every bundle, found missing");
    }
  }
  if (!REPORTS.some((name) => f.entries.has(name))) {
    ctx.run.add("container", "report.html", "required file", "fail", `expected a report in every bundle (${REPORTS.join(" or ")}), found none`);
  }
}

// 2. manifest and 3. sums ---------------------------------------------------------------------------
function listing(ctx: Ctx, step: string, name: string, pairs: [string, Uint8Array][], wanted: (n: string) => boolean): void {
  const f = ctx.files;
  const listed = new Map<string, Uint8Array>();
  for (const [n, d] of pairs) {
    if (listed.has(n)) ctx.run.add(step, name, "each file listed once", "fail", `${n} is listed twice`);
    listed.set(n, d);
  }
  for (const n of [...f.digests.keys()].sort()) {
    if (wanted(n) && !listed.has(n)) ctx.run.add(step, n, `listed in ${name}`, "fail", `expected in ${name}, found unlisted`);
  }
  let bad = 0;
  for (const [n, d] of listed) {
    const found = f.digests.get(n);
    if (!wanted(n)) {
      bad++;
      ctx.run.add(step, n, `listed in ${name}`, "fail", `${name} must not list ${n}`);
    } else if (!found) {
      bad++;
      ctx.run.add(step, n, `digest in ${name}`, "fail", `${name} lists it, the container lacks it`);
    } else if (hex(found) !== hex(d)) {
      bad++;
      ctx.run.add(step, n, `digest in ${name}`, "fail", `expected SHA-256 ${hex(d)} (${name}), found ${hex(found)}`);
    }
  }
  if (!bad) ctx.run.add(step, name, "every digest matches", "ok", `${listed.size} files`);
}

async function signedListing(ctx: Ctx, step: string, name: string, tokenName: string, form: string,
  parse: (d: Uint8Array) => [string, Uint8Array][], wanted: (n: string) => boolean): Promise<void> {
  const data = ctx.files.data.get(name);
  if (!data) return;
  try {
    listing(ctx, step, name, parse(data), wanted);
  } catch (e) {
    if (!(e instanceof ContainerError)) throw e;
    ctx.run.add(step, name, form, "fail", e.message);
  }
  const token = ctx.files.data.get(tokenName);
  if (!token) return;
  const result = await tokenResult(ctx, token, { data }, allChainCerts(ctx), `data:${name}`);
  ctx.restsOn.push(...result.rests);
  ctx.run.add(step, tokenName, `time-stamp over ${name}`, result.outcome, result.detail);
}

// tokens ---------------------------------------------------------------------------------------------
function allChainCerts(ctx: Ctx): Uint8Array[] {
  if (ctx.chainCerts === null) {
    const seen = new Map<string, Uint8Array>();
    for (const e of ofKind(ctx.files, "chain")) {
      for (const der of pemCertificates(text(ctx.files, e.name))) seen.set(hex(der), der);
    }
    ctx.chainCerts = [...seen.values()];
  }
  return ctx.chainCerts;
}

/** Each distinct (token, what it stamps, certificates, revocation data) is verified once, however often a bundle
 * repeats it. */
function tokenResult(ctx: Ctx, token: Uint8Array, over: { data?: Uint8Array; digest?: Uint8Array }, extra: Uint8Array[],
  key: string, revocation: Uint8Array | null = null): Promise<TokenResult> {
  const cacheKey = `${hex(token)}|${key}|${extra.map(hex).join(",")}|${revocation ? hex(revocation) : ""}`;
  let found = ctx.tokenCache.get(cacheKey);
  if (!found) {
    found = verifyTokenDetail(ctx, token, over, extra, revocation);
    ctx.tokenCache.set(cacheKey, found);
  }
  return found;
}

async function verifyTokenDetail(ctx: Ctx, token: Uint8Array, over: { data?: Uint8Array; digest?: Uint8Array },
  extra: Uint8Array[], revocation: Uint8Array | null): Promise<TokenResult> {
  try {
    const at = ctx.trust.at ? { at: ctx.trust.at } : {};
    const verdict = await verifyToken(token, { ...over, roots: ctx.trust.tsaRoots, extraCerts: extra, ...at });
    const stray = strayCertificates(ctx, verdict.info.certificates, verdict.chain);
    if (stray) return { outcome: "fail", detail: stray, rests: [], genTime: null, standing: null };
    const development = developmentDetail(verdict.info);
    if (development) {
      return { outcome: "untrusted", detail: development, rests: [`UNTRUSTED TSA: the development TSA (policy ${DEV_TSA_POLICY})`], genTime: null, standing: null };
    }
    const rests = [`TSA root '${verdict.rootSubject}' (given by you)`];
    let notes = verdict.notes.join("; ");
    if (revocation) {
      try {
        notes = [notes, await revocationDetail(revocation, verdict.chain, verdict.info.genTime)].filter(Boolean).join("; ");
      } catch (e) {
        return { outcome: "fail", detail: (e as Error).message, rests, genTime: null, standing: null };
      }
    }
    return {
      outcome: "ok",
      detail: `genTime ${isoUtc(verdict.info.genTime)}, signed by '${verdict.info.signerSubject}', root '${verdict.rootSubject}'` +
        (notes ? `; ${notes}` : ""),
      rests,
      genTime: verdict.info.genTime,
      standing: { genTime: verdict.info.genTime, expires: verdict.expires, validAt: verdict.validNow, signer: verdict.info.signerSubject ?? "?" },
    };
  } catch (e) {
    if (e instanceof UntrustedRoot) {
      const stray = strayCertificates(ctx, e.info.certificates, e.chain);
      if (stray) return { outcome: "fail", detail: stray, rests: [], genTime: null, standing: null };
      return { outcome: "untrusted", detail: e.message, rests: [`UNTRUSTED TSA root: chain stops at '${e.stoppedAt}' (not among the roots you gave)`], genTime: null, standing: null };
    }
    if (e instanceof TokenError) return { outcome: "fail", detail: e.message, rests: [], genTime: null, standing: null };
    return { outcome: "fail", detail: `malformed token: ${(e as Error).message}`, rests: [], genTime: null, standing: null };
  }
}

/** A certificate a token carries that no check vouches for (its signature does not cover them) is refused. */
function strayCertificates(ctx: Ctx, embedded: Uint8Array[], path: Uint8Array[]): string | null {
  const known = new Set([...path, ...ctx.trust.tsaRoots, ...allChainCerts(ctx)].map(hex));
  const stray = embedded.filter((der) => !known.has(hex(der)));
  if (!stray.length) return null;
  return "expected every embedded certificate on the validated path or among the bundle's TSA " +
    `certificates, found ${stray.length} that no check vouches for (altered or foreign)`;
}

// 4. keys --------------------------------------------------------------------------------------------
async function checkKeys(ctx: Ctx): Promise<void> {
  for (const e of ofKind(ctx.files, "key").sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const kid = e.groups[0]!;
    await ctx.run.check("keys", e.name, "service key", async () => {
      const raw = publicKeyFromPem(text(ctx.files, e.name));
      const found = await keyId(raw);
      if (found !== kid) throw new Error(`expected key id ${kid} (file name), found key ${found}`);
      ctx.keys.set(kid, raw);
      const fp = await fingerprintText(raw);
      const trusted = await trustsKey(ctx.trust, raw);
      ctx.trustedKeys.set(kid, trusted);
      if (!trusted) {
        ctx.restsOn.push(`UNTRUSTED service key ${kid} (SHA-256 ${fp})`);
        throw new Untrusted(`key ${kid} is not among the keys you trust; compare SHA-256 ${fp} with the service's published keys`);
      }
      ctx.restsOn.push(`service key ${kid} (given by you)`);
      return `Ed25519 key ${kid}, one of the keys you trust`;
    });
  }
}

async function checkDeviceKeys(ctx: Ctx): Promise<void> {
  for (const e of ofKind(ctx.files, "device_key").sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const kid = e.groups[0]!;
    await ctx.run.check("keys", e.name, "device key", async () => {
      const raw = publicKeyFromPem(text(ctx.files, e.name));
      const found = await keyId(raw);
      if (found !== kid) throw new Error(`expected key id ${kid} (file name), found key ${found}`);
      ctx.deviceKeys.set(kid, raw);
      return `Ed25519 device key ${kid}, SHA-256 ${await fingerprintText(raw)}`;
    });
  }
}

// 5. batches -----------------------------------------------------------------------------------------
async function checkBatches(ctx: Ctx): Promise<void> {
  const f = ctx.files;
  const ids = [...new Set([...f.entries.values()].filter((e) => ["batch", "token", "chain", "evidence_record"].includes(e.kind)).map((e) => e.groups[0]!))].sort();
  allChainCerts(ctx);
  const tokensOf = new Map<string, string[]>(); // indexed once, not scanned per batch (a bundle may hold thousands)
  for (const e of ofKind(f, "token")) tokensOf.set(e.groups[0]!, [...(tokensOf.get(e.groups[0]!) ?? []), e.name]);
  for (const bid of ids) {
    const state: BatchState = { root: null, size: 0, state: "unstamped", times: [], standing: [] };
    ctx.batches.set(bid, state);
    const name = `batches/${bid}/batch.json`;
    if (!f.data.has(name)) {
      ctx.run.add("batches", name, "batch root", "fail", "expected beside the batch's tokens, found missing");
      continue;
    }
    const rootOk = await ctx.run.check("batches", name, "batch root", () => {
      const value = parseCanonical(f.data.get(name)!, name);
      if (typeof value !== "object" || value === null || Array.isArray(value) || value["v"] !== 1 || value["id"] !== bid) {
        throw new Error(`expected {'v': 1, 'id': '${bid}', ...}, found another object`);
      }
      const size = value["size"];
      if (typeof size !== "number" || !Number.isInteger(size) || size < 1) throw new Error(`expected a positive integer size, found ${JSON.stringify(size)}`);
      const root = String(value["root"]);
      if (!/^sha256:[0-9a-f]{64}$/.test(root)) throw new Error(`expected a digest 'sha256:<64 lowercase hex>', found ${JSON.stringify(root.slice(0, 80))}`);
      state.root = fromHex(root.slice(7));
      state.size = size;
      return `root sha256:${hex(state.root)}, ${size} records, sealed ${String(value["sealed_at"])}`;
    });
    if (rootOk !== "ok" || !state.root) continue;
    const outcomes: Outcome[] = [];
    for (const tokenName of (tokensOf.get(bid) ?? []).sort()) {
      const tsa = f.entries.get(tokenName)!.groups[1]!;
      const chainName = `batches/${bid}/${tsa}-chain.pem`;
      let extra: Uint8Array[] = [];
      if (f.data.has(chainName)) {
        extra = pemCertificates(text(f, chainName));
        if (!extra.length) ctx.run.add("batches", chainName, "TSA certificates", "fail", "expected PEM certificates, found none");
      }
      const revocation = f.data.get(`batches/${bid}/${tsa}.ocsp.json`) ?? null;
      const result = await tokenResult(ctx, f.data.get(tokenName)!, { digest: state.root }, extra, `digest:${hex(state.root)}`, revocation);
      ctx.run.add("batches", tokenName, "time-stamp over the batch root", result.outcome, result.detail);
      ctx.restsOn.push(...result.rests);
      if (result.genTime) state.times.push([tsa, result.genTime]);
      if (result.standing) state.standing.push({ ...result.standing, name: tokenName });
      outcomes.push(result.outcome);
    }
    if (outcomes.includes("fail")) state.state = "failed";
    else if (outcomes.includes("ok")) state.state = "stamped";
    else if (outcomes.includes("untrusted")) state.state = "untrusted";
    else ctx.run.add("batches", `batches/${bid}/`, "time-stamp over the batch root", "note", "no token yet: the batch is pending, its records are not time-stamped");
  }
}

// 6. records -----------------------------------------------------------------------------------------
// Records checked at a time: their signature checks, which WebCrypto runs on other threads, overlap.
const RECORDS_IN_FLIGHT = 64;

interface RecordResult {
  run: Run; // its checks, in the order the service's verifier lists them
  step: Step | null;
  stamped: Date | null;
}

async function checkRecords(ctx: Ctx): Promise<Record<string, string | number>> {
  const names = ofKind(ctx.files, "record").map((e) => e.name).sort();
  const stamped: Date[] = [];
  for (let i = 0; i < names.length; i += RECORDS_IN_FLIGHT) {
    const done = await Promise.all(names.slice(i, i + RECORDS_IN_FLIGHT).map((name) => checkRecord(ctx, name)));
    for (const one of done) { // in record order, whatever order they finished in
      ctx.run.checks.push(...one.run.checks);
      if (one.step) ctx.records.set(one.step.id, one.step);
      if (one.stamped) stamped.push(one.stamped);
    }
  }
  const facts: Record<string, string | number> = { records: ctx.records.size };
  if (ctx.records.size) {
    const caps = [...ctx.records.values()].map((s) => s.capturedAt).sort();
    facts["captured"] = `${caps[0]} .. ${caps[caps.length - 1]}`;
  }
  if (stamped.length) {
    const [first, last] = span(stamped);
    facts["time-stamped"] = `${isoUtc(first)} .. ${isoUtc(last)}`;
  }
  return facts;
}

async function checkRecord(ctx: Ctx, name: string): Promise<RecordResult> {
  const run = new Run();
  const rid = name.slice(8, -5);
  let rec: RecordView | null = null;
  let digest = "";
  run.checkNow("records", name, "record", () => {
    const data = ctx.files.data.get(name)!;
    const value = parseCanonical(data, name);
    const r = recordFrom(value);
    if (r.id !== rid) throw new Error(`expected record ${rid} (file name), found record ${r.id}: records swapped or renamed`);
    digest = "sha256:" + hex(ctx.files.digests.get(name)!);
    rec = r;
    return `seq ${r.seq}, ${r.type}, digest ${digest}`;
  });
  if (!rec) return { run, step: null, stamped: null };
  const r: RecordView = rec;
  const step: Step = { id: r.id, type: r.type, seq: r.seq, prev: r.prev, digest, device: r.device, site: r.site,
    sessionId: r.sessionId, capturedAt: r.capturedAt, account: "", deviceSigned: false };
  checkAttachments(ctx, run, r);
  const receipt = await checkReceipt(ctx, run, r, digest);
  if (!receipt) return { run, step, stamped: null };
  step.account = receipt.account;
  step.deviceSigned = await checkDeviceSignature(ctx, run, r, receipt);
  return { run, step, stamped: checkInclusion(ctx, run, r, digest, receipt) };
}

function checkAttachments(ctx: Ctx, run: Run, rec: RecordView): void {
  for (const [i, att] of rec.attachments.entries()) {
    const hexd = att.digest.slice(7);
    const name = `blobs/${hexd}`;
    ctx.usedBlobs.add(name);
    run.checkNow("records", `records/${rec.id}.json`, `attachment ${i} (${att.role}, ${att.media_type})`, () => {
      const found = ctx.files.digests.get(name);
      if (!found) throw new Error(`expected ${name} (attachment sha256:${hexd}), found missing`);
      if (hex(found) !== hexd) throw new Error(`expected bytes with SHA-256 ${hexd} (the record's attachment), found ${hex(found)}`);
      const actual = ctx.files.data.get(name)!.length;
      if (actual !== att.bytes) throw new Error(`expected ${att.bytes} bytes (the record says), found ${actual}`);
      return `${att.bytes} bytes match the record's digest`;
    });
  }
}

/** The bytes the service signed: the receipt file without its "sig" member (DESIGN.md, "Receipt"). */
function signedPart(data: Uint8Array, sig: string): Uint8Array {
  const t = decodeUtf8(data, "receipt");
  const member = `,"sig":"${sig}"`;
  if (t.split(member).length !== 2) throw new Error('expected exactly one "sig" member in the receipt, found another form');
  return utf8.encode(t.replace(member, ""));
}

async function checkReceipt(ctx: Ctx, run: Run, rec: RecordView, digest: string): Promise<Receipt | null> {
  const name = `receipts/${rec.id}.json`;
  let out: Receipt | null = null;
  const outcome = await run.check("records", name, "receipt signature", async () => {
    const data = ctx.files.data.get(name);
    if (!data) throw new Error("expected a receipt for every record, found missing");
    const receipt = receiptFrom(parseJson(data, name));
    // Expected is what the service signed (the receipt); found is what the bundle's file now is.
    if (receipt.record_id !== rec.id) {
      throw new Error(`expected the receipt of record ${rec.id}, found a receipt for record ${receipt.record_id}`);
    }
    if (receipt.record !== digest) {
      throw new Error(`expected the digest the service signed, ${receipt.record}, found ${digest}: the record was changed after it was signed and time-stamped`);
    }
    const key = ctx.keys.get(receipt.key);
    if (!key) throw new Error(`expected keys/${receipt.key}.pem (a readable Ed25519 key), found no such key in the bundle`);
    ctx.usedKeys.add(receipt.key);
    await verifyEd25519(key, signedPart(data, receipt.sig), fromBase64(receipt.sig, "receipt.sig"));
    out = receipt;
    if (!ctx.trustedKeys.get(receipt.key)) throw new Untrusted(`signature valid, by service key ${receipt.key}, which you did not trust`);
    return `signed by service key ${receipt.key}`;
  });
  return outcome === "fail" ? null : out;
}

async function checkDeviceSignature(ctx: Ctx, run: Run, rec: RecordView, receipt: Receipt): Promise<boolean> {
  const name = `records/${rec.id}.json`;
  const kid = receipt.device_key;
  if (kid === null) {
    if (rec.device !== null) {
      run.add("records", name, "device signature", "fail", `expected the receipt to name device ${rec.device} (client.device), found no device key`);
      return false;
    }
    run.add("records", name, "device signature", "note",
      "no device signature: this record rests on the service's receipt alone, not on the creator's own key");
    return false;
  }
  ctx.usedDeviceKeys.add(kid);
  if (rec.device !== null && rec.device !== kid) {
    run.add("records", name, "device signature", "fail", `expected client.device ${kid} (the receipt's device key), found ${rec.device}`);
    return false;
  }
  const signature = receipt.device_sig;
  if (signature === null) {
    run.add("records", name, "device signature", "note",
      `the service checked a signature by device key ${kid} on arrival but this receipt predates keeping it: ` +
      "the creator's signature cannot be checked here");
    return false;
  }
  return (await run.check("records", name, "device signature", async () => {
    const key = ctx.deviceKeys.get(kid);
    if (!key) throw new Error(`expected keys/devices/${kid}.pem (the device's public key), found no such key`);
    await verifyEd25519(key, ctx.files.data.get(name)!, fromBase64(signature, "receipt.device_sig"));
    return `signed by the creator's device key ${kid}`;
  })) === "ok";
}

function utc(value: string, what: string): Date {
  if (!TIMESTAMP_RE.test(value)) throw new Error(`${what}: expected RFC 3339 UTC with milliseconds and Z, found ${JSON.stringify(value.slice(0, 80))}`);
  return new Date(value);
}

function checkInclusion(ctx: Ctx, run: Run, rec: RecordView, digest: string, receipt: Receipt): Date | null {
  const ref = receipt.batch;
  ctx.usedBatches.add(ref.id);
  const state = ctx.batches.get(ref.id);
  const subject = `receipts/${rec.id}.json`;
  const proof = run.checkNow("records", subject, "Merkle inclusion proof", () => {
    if (!state?.root) throw new Error(`expected batches/${ref.id}/batch.json with a readable root, found none`);
    if (ref.root !== `sha256:${hex(state.root)}` || ref.size !== state.size) {
      throw new Error(`expected root sha256:${hex(state.root)} and size ${state.size} (batch.json), found ${ref.root} and size ${ref.size} in the receipt`);
    }
    verifyInclusion(fromHex(digest.slice(7)), ref.index, ref.size, ref.proof.map(fromHex), state.root);
    return `leaf ${ref.index} of ${ref.size} leads to the batch root`;
  });
  if (proof !== "ok" || !state) return null;
  if (state.state !== "stamped" && state.state !== "untrusted") {
    run.add("records", subject, "time-stamped", "fail", state.state === "unstamped"
      ? "the batch has no token yet (pending): not time-stamped" : "a token of the batch failed verification");
    return null;
  }
  const first = state.times.length ? state.times.reduce((a, b) => (b[1] < a[1] ? b : a)) : null;
  run.add("records", subject, "time-stamped", state.state === "stamped" ? "ok" : "untrusted",
    first ? `by ${first[0]} at ${isoUtc(first[1])}` : "only by TSA roots you did not give");
  if (!first) return null;
  run.checkNow("records", subject, "times in order", () => {
    const received = utc(receipt.received_at, "receipt.received_at");
    if (received.getTime() > first[1].getTime() + CLOCK_SKEW_MS) {
      throw new Error(`expected received_at no later than the TSA time ${isoUtc(first[1])}, found ${receipt.received_at}`);
    }
    return `captured ${rec.capturedAt}, received ${receipt.received_at}, time-stamped ${isoUtc(first[1])}`;
  });
  if (new Date(rec.capturedAt).getTime() > first[1].getTime() + CLOCK_SKEW_MS) {
    run.add("records", `records/${rec.id}.json`, "capture time", "note", `the device clock said ${rec.capturedAt}, after the TSA time ${isoUtc(first[1])}`);
  }
  return first[1];
}

