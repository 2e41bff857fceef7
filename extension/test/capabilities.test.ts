import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { capabilityTable, withTable } from "../src/adapters/capabilities.ts";
import { ADAPTERS } from "../src/adapters/registry.ts";

const README = new URL("../../README.md", import.meta.url);

describe("README capability table", () => {
  it("equals the table rendered from the adapters' declared capabilities (UPDATE_GOLDEN=1 rewrites it)", () => {
    const doc = readFileSync(README, "utf8");
    const expected = withTable(doc, capabilityTable(ADAPTERS));
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(README, expected);
    else assert.equal(doc, expected);
  });

  it("names every adapter, and says so when one has not declared its capabilities", () => {
    const table = capabilityTable(ADAPTERS);
    for (const a of ADAPTERS) assert.ok(table.includes(`\`${a.id}@${a.version}\``), a.id);
    const undeclared = ADAPTERS.filter((a) => !a.capabilities).length;
    assert.equal(table.split("\n").filter((l) => l.includes("not declared")).length, undeclared);
  });
});
