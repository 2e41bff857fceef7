import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { concat, hex, sha256, utf8 } from "../src/bytes.ts";
import { decodeEvidenceRecord, hashList, rootOf } from "../src/ers.ts";
import type { Report } from "../src/report.ts";
import { buildTrust, parseMoment } from "../src/trust.ts";
import { checkBundle } from "../src/verify.ts";

// The renewal corpus: bundles the service made with TSAs whose certificates expire (tests/assets/renewals/make.py).
const RENEWALS = join(import.meta.dirname, "..", "..", "tests", "assets", "renewals");
const read = (name: string) => new Uint8Array(readFileSync(join(RENEWALS, name)));
const rows = readFileSync(join(RENEWALS, "MANIFEST"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => l.split("\t") as [string, string, string, string, string]);

async function verifyAt(bundle: string, at: string): Promise<Report> {
  const { trust } = await buildTrust([readFileSync(join(RENEWALS, "tsa-roots.pem"), "utf8")],
    [readFileSync(join(RENEWALS, "service-key.pem"), "utf8")]);
  return checkBundle(read(bundle), { ...trust, at: new Date(at) });
}

const longTerm = (report: Report) => report.checks.filter((c) => c.check === "time-stamp valid long-term");
const rowOf = (bundle: string, code: string) => rows.find((r) => r[0] === bundle && r[2] === code)!;

for (const [bundle, at, code, , what] of rows) {
  test(`${bundle} at ${at} exits ${code}: ${what}`, async () => {
    const report = await verifyAt(bundle, at);
    assert.equal(report.exit_code, Number(code), report.checks.filter((c) => c.outcome !== "ok" && c.outcome !== "note")
      .map((c) => `${c.subject}: ${c.detail}`).join("\n"));
    const outcomes = new Set(longTerm(report).map((c) => c.outcome));
    const expected = ({ 0: "ok", 1: "fail", 2: "untrusted" } as Record<string, string>)[code]!;
    // Each batch has its own long-term check: the row's verdict comes from one of them, the others hold.
    assert.ok((outcomes.has(expected as never) && [...outcomes].every((o) => o === "ok" || o === expected))
      || (code === "0" && outcomes.size === 0), JSON.stringify(longTerm(report)));
  });
}

test("an expired stamping certificate carried by one archive time-stamp is valid long-term, and says by whom", async () => {
  const [bundle, at] = rowOf("renewed.asice", "0");
  const checks = longTerm(await verifyAt(bundle, at));
  assert.ok(checks.length && checks.every((c) => c.outcome === "ok" && c.subject.endsWith("/evidence.ers")));
  assert.match(checks[0]!.detail, /tsa-short\.tst \(certificate expires .*\) is carried to .* by archive time-stamp \(RFC 4998\) of .* by '.*Renewal medium TSA'/);
});

test("a renewed renewal is a chain of two archive time-stamps", async () => {
  const [bundle, at] = rowOf("renewed-twice.asice", "0");
  const checks = longTerm(await verifyAt(bundle, at));
  assert.ok(checks.length && checks.every((c) => c.outcome === "ok"));
  assert.match(checks[0]!.detail, /archive time-stamps \(RFC 4998\) of .*Renewal medium TSA.*, then .*Renewal long TSA/);
});

test("a lapsed token without an evidence record is not trusted long-term, and the report says why", async () => {
  const [bundle, at] = rowOf("lapsed.asice", "2");
  const report = await verifyAt(bundle, at);
  const checks = longTerm(report);
  assert.ok(checks.length && checks.every((c) => c.outcome === "untrusted"));
  assert.match(checks[0]!.detail, /or an archive time-stamp made before it expired, found neither/);
  assert.ok(report.rests_on.some((r) => r.startsWith("LAPSED TSA certificate")));
});

test("a forged hash tree in the evidence record fails the first archive time-stamp's imprint", async () => {
  const [bundle, at] = rowOf("tampered-evidence.asice", "1");
  const failed = longTerm(await verifyAt(bundle, at)).filter((c) => c.outcome === "fail");
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.detail, /^archive time-stamp 1: the imprint check failed: expected imprint [0-9a-f]{64} \(the given digest\), found sha256 /);
});

test("an evidence record decodes as the service wrote it, and a cut one is refused", () => {
  const entries = unzipSync(read("renewed-twice.asice"));
  const name = Object.keys(entries).find((n) => n.endsWith("/evidence.ers"))!;
  const chain = decodeEvidenceRecord(entries[name]!);
  assert.equal(chain.length, 2);
  assert.ok(chain.every((s) => s.certificates.length > 0 && s.ocspResponses.length > 0 && s.reduced[0]!.length > 0));
  assert.throws(() => decodeEvidenceRecord(entries[name]!.subarray(0, 100)), /not an RFC 4998 evidence record/);
  assert.throws(() => decodeEvidenceRecord(concat(entries[name]!, new Uint8Array([0]))), /bytes after the record/);
});

test("a reduced hash tree hashes sorted concatenations from the leaf group up (RFC 4998 §4.3)", async () => {
  const [a, b, c] = await Promise.all(["a", "b", "c"].map((s) => sha256(utf8.encode(s))));
  const sorted = (x: Uint8Array, y: Uint8Array) => (hex(x) < hex(y) ? concat(x, y) : concat(y, x));
  const group = await sha256(sorted(a!, b!));
  assert.equal(hex(await hashList([b!, a!])), hex(group));
  assert.equal(hex(await rootOf([[b!, a!], [c!]], a!)), hex(await sha256(sorted(group, c!))));
  assert.equal(hex(await rootOf([], c!)), hex(c!));
  await assert.rejects(rootOf([[a!, b!], [c!]], c!), /not among the first list/);
});

test("the verification time is read as promptstamp verify --at reads it: a date, or RFC 3339, UTC without a zone", () => {
  assert.equal(parseMoment("2041-06-01").toISOString(), "2041-06-01T00:00:00.000Z");
  assert.equal(parseMoment(" 2041-06-01T12:30:00 ").toISOString(), "2041-06-01T12:30:00.000Z");
  assert.equal(parseMoment("2041-06-01T12:30:00+02:00").toISOString(), "2041-06-01T10:30:00.000Z");
  assert.throws(() => parseMoment("next year"), /expected a date \(2041-06-01\) or an RFC 3339 time, found "next year"/);
  assert.throws(() => parseMoment("2041-13-45"), /expected a date/);
});

test("an archive time-stamp whose TSA certificate its own carried OCSP response reports revoked fails", async () => {
  const [bundle, at] = rowOf("revoked-renewal.asice", "1");
  const failed = longTerm(await verifyAt(bundle, at)).filter((c) => c.outcome === "fail");
  assert.ok(failed.length);
  assert.match(failed[0]!.detail, /^archive time-stamp 3: TSA certificate revoked: .*Renewal compromised TSA: revoked on .* \(reason: key_compromise\), at or before the time-stamp's genTime$/);
});

test("a token's archived OCSP responses are judged at its genTime, in promptstamp verify's words", async () => {
  const [bundle, at] = rowOf("renewed.asice", "0");
  const token = (await verifyAt(bundle, at)).checks.find((c) => c.check === "time-stamp over the batch root")!;
  assert.equal(token.outcome, "ok");
  assert.match(token.detail, /; revocation at genTime: O=Local Test,CN=Renewal short TSA: not revoked \(OCSP, produced \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)$/);
});
