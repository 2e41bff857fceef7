/**
 * The per-site capability table, rendered from each adapter's `capabilities` (README.md shows it
 * between the capabilities markers; a test keeps the two equal).
 */
import type { Capabilities, Confidence, SiteAdapter } from "./types.ts";

export const TABLE_START = "<!-- capabilities:start -->";
export const TABLE_END = "<!-- capabilities:end -->";

const COLUMNS: readonly [keyof Capabilities, string][] = [
  ["liveTurns", "live turns"], ["history", "history"], ["edits", "edits"], ["regenerations", "regenerations"],
  ["selection", "selection"], ["model", "model"], ["images", "images"], ["identity", "identity"],
];

const WORDS: { [c in Confidence]: string } = {
  live: "live", "public-capture": "public capture", documented: "documented", none: "—",
};

export function capabilityTable(adapters: readonly SiteAdapter[]): string {
  const head = ["site", "adapter", ...COLUMNS.map(([, title]) => title)];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const a of adapters) {
    const cells = a.capabilities ? COLUMNS.map(([key]) => WORDS[a.capabilities?.[key] ?? "none"])
      : COLUMNS.map((_, i) => (i === 0 ? "not declared" : ""));
    lines.push(`| ${a.name} | \`${a.id}@${a.version}\` | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The document with the table between the markers replaced (the markers must be there, once each). */
export function withTable(doc: string, table: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md needs ${TABLE_START} … ${TABLE_END}`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${table}\n${doc.slice(end)}`;
}
