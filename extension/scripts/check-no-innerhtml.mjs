// Fails when any source file assigns or calls an HTML-parsing sink (STYLE.md habit 14).
// The sink names are assembled so that this file itself does not contain them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const sinks = ["inner", "outer"].map((p) => p + "HTML").concat(["insertAdjacent" + "HTML", "document." + "write("]);
const roots = ["src", "test", "scripts"];
const bad = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|mjs|js|html)$/.test(name)) {
      const text = readFileSync(path, "utf8");
      for (const sink of sinks) if (text.includes(sink)) bad.push(`${path}: ${sink}`);
    }
  }
}
for (const root of roots) walk(root);
if (bad.length) {
  console.error("HTML sinks are not allowed:\n" + bad.join("\n"));
  process.exit(1);
}
