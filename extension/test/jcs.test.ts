import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { canonicalText, CanonicalizationError } from "../src/core/jcs.ts";

interface Vector { name: string; input: string; canonical: string; sha256: string }
const doc = JSON.parse(readFileSync(new URL("../../tests/assets/jcs-vectors.json", import.meta.url), "utf8")) as {
  vectors: Vector[]; invalid: { name: string; input: string }[];
};

describe("RFC 8785 vectors shared with the server", () => {
  for (const v of doc.vectors) {
    it(v.name, () => {
      const text = canonicalText(JSON.parse(v.input));
      assert.equal(text, v.canonical);
      assert.equal(createHash("sha256").update(text, "utf8").digest("hex"), v.sha256);
    });
  }
  for (const v of doc.invalid) {
    it(`rejects ${v.name}`, () => {
      assert.throws(() => canonicalText(JSON.parse(v.input)), CanonicalizationError);
    });
  }
  it("rejects numbers JSON cannot carry", () => {
    assert.throws(() => canonicalText([NaN]), CanonicalizationError);
    assert.throws(() => canonicalText({ a: Infinity }), CanonicalizationError);
  });
  it("rejects undefined and non-plain objects instead of dropping them", () => {
    assert.throws(() => canonicalText({ a: undefined }), CanonicalizationError);
    assert.throws(() => canonicalText({ d: new Date(0) }), CanonicalizationError);
  });
});
