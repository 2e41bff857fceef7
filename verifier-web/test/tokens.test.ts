import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pemCertificates, TokenError, UntrustedRoot, verifyToken } from "../src/tokens.ts";

const REAL = join(import.meta.dirname, "..", "..", "tests", "assets", "real-tsa");
const read = (p: string) => new Uint8Array(readFileSync(join(REAL, p)));
const pem = (p: string) => pemCertificates(readFileSync(join(REAL, p), "utf8"));

async function outcome(token: string, data: string, roots: string[], extra: string[] = []): Promise<string> {
  try {
    await verifyToken(read(token), { data: read(data), roots: roots.flatMap(pem), extraCerts: extra.flatMap(pem) });
    return "valid";
  } catch (e) {
    if (e instanceof UntrustedRoot) return "untrusted";
    if (e instanceof TokenError) return `invalid: ${e.check}`;
    throw e;
  }
}

// The MANIFEST's expected verdicts for the real third-party tokens.
const CASES: [string, string, string[], string[], string][] = [
  ["digicert-2025/response.tsr", "digicert-2025/data.txt", ["digicert-2025/root-DigiCert_Trusted_Root_G4.pem"], [], "valid"],
  ["identrust-2025/token.tst", "identrust-2025/data.txt", ["identrust-2025/root-IdenTrust_Commercial_Root_CA_1.pem"], [], "valid"],
  ["freetsa-2024/token.tst", "freetsa-2024/data.txt", ["freetsa-2024/root-freetsa_cacert.pem"], [], "valid"],
  ["globalsign-g4-2021/token.tst", "globalsign-g4-2021/data.txt", ["globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"], [], "valid"],
  ["globalsign-g4-2021/token-no-certs.tst", "globalsign-g4-2021/data.txt", ["globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"], ["globalsign-g4-2021/embedded-certs.pem"], "valid"],
  ["globalsign-g4-2021/token-invalid-signature.tst", "globalsign-g4-2021/data.txt", ["globalsign-g4-2021/root-GlobalSign_Root_CA_-_R3.pem"], [], "invalid: signature"],
  ["sigstage-2025/response-sha384.tsr", "sigstage-2025/hello.txt", ["sigstage-2025/ts_chain.pem"], [], "valid"],
  ["sigstage-2025/response-invalid-signature.tsr", "sigstage-2025/hello.txt", ["sigstage-2025/ts_chain.pem"], [], "invalid: signature"],
  ["sinpe-costa-rica-2025/response.tsr", "sinpe-costa-rica-2025/data.txt", [], [], "untrusted"],
  ["microsoft-2024/token.tst", "digicert-2025/data.txt", [], [], "invalid: imprint"],
];

for (const [token, data, roots, extra, expected] of CASES) {
  test(`${token} is ${expected}`, async () => {
    assert.equal(await outcome(token, data, roots, extra), expected);
  });
}

test("a token of the development TSA is untrusted even with its root given (its policy OID)", async () => {
  const { checkToken } = await import("../src/token-report.ts");
  const dir = join(import.meta.dirname, "..", "..", "tests", "assets", "tokens");
  const report = await checkToken(new Uint8Array(readFileSync(join(dir, "good.tsr"))),
    { tsaRoots: pemCertificates(readFileSync(join(dir, "root.pem"), "utf8")), keyIds: new Set(), keyFingerprints: new Set() },
    { data: new TextEncoder().encode("PromptStamp test asset\n") });
  assert.equal(report.exit_code, 2);
  const chain = report.checks.find((c) => c.check === "chain");
  assert.equal(chain?.outcome, "untrusted");
  assert.match(chain?.detail ?? "", /2\.25\.313571821748590964836994007601738163612/);
});
