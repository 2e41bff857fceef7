/**
 * Reading an evidence bundle in the browser: a hostile ZIP becomes named, size-limited, hashed files.
 * Mirrors server bundle_reader.py and zipsafe.py: mimetype first and stored, plain relative names, no
 * duplicates, only deflate or stored, entry count, sizes and compression ratio checked from the
 * central directory before anything is inflated (fflate never inflates past the declared size).
 */
import { unzipSync, type UnzipFileInfo } from "fflate";
import { sha256 } from "./bytes.js";

export const MIMETYPE = "application/vnd.etsi.asic-e+zip";
export const MANIFEST = "META-INF/ASiCManifest001.xml";
export const MANIFEST_TOKEN = "META-INF/timestamp001.tst";
export const SUMS = "SHA256SUMS";
export const SUMS_TOKEN = "SHA256SUMS.tst";
export const FIXED_NAMES = ["mimetype", "README.txt", "report.html", "report.zh.html", "report.pdf", "verify.sh", SUMS, SUMS_TOKEN,
  MANIFEST, MANIFEST_TOKEN];
/** Files a bundle may leave out: the signed PDF exhibit (made only where the service can sign). */
export const OPTIONAL_NAMES = ["report.pdf"];
/** A bundle holds its report in one language or both. */
export const REPORTS = ["report.html", "report.zh.html"];
/** Files derived from the records (the exporter's text, never evidence). */
export const DERIVED_NAMES = ["README.txt", "report.html", "report.zh.html"];

const ULID = "[0-7][0-9A-HJKMNP-TV-Z]{25}";
const TSA = "[a-z0-9][a-z0-9_-]{0,31}";
export const NAME_PATTERNS: [string, RegExp][] = [
  ["record", new RegExp(`^records/(${ULID})\\.json$`)],
  ["receipt", new RegExp(`^receipts/(${ULID})\\.json$`)],
  ["blob", /^blobs\/([0-9a-f]{64})$/],
  ["batch", new RegExp(`^batches/(${ULID})/batch\\.json$`)],
  ["token", new RegExp(`^batches/(${ULID})/(${TSA})\\.tst$`)],
  ["chain", new RegExp(`^batches/(${ULID})/(${TSA})-chain\\.pem$`)],
  // OCSP responses archived with a token: covered by SHA256SUMS and the manifest; judged at genTime by
  // `promptstamp verify` (this page does not read OCSP, and its report says so).
  ["revocation", new RegExp(`^batches/(${ULID})/(${TSA})\\.ocsp\\.json$`)],
  // RFC 4998 archive time-stamps that carry the batch's proof past its TSA certificates' expiry: covered
  // by SHA256SUMS and the manifest; checked by `promptstamp verify --at` (this page notes them).
  ["evidence_record", new RegExp(`^batches/(${ULID})/evidence\\.ers$`)],
  ["key", /^keys\/([0-9a-f]{16})\.pem$/],
  ["device_key", /^keys\/devices\/([0-9a-f]{16})\.pem$/],
];

export interface ZipLimits {
  entries: number;
  entryBytes: number;
  totalBytes: number;
  maxRatio: number;
  ratioFloor: number;
}

// A browser tab holds everything in memory, so the bytes are bounded as for the server's upload verification.
// The entries are not: the page runs on the visitor's own machine, for evidence too big to verify on ours
// (the server says so past its 20,000), so it opens as many as ``promptstamp verify`` does (zipsafe.py).
export const LIMITS: ZipLimits = { entries: 200_000, entryBytes: 256 << 20, totalBytes: 256 << 20, maxRatio: 200, ratioFloor: 64 << 10 };

export class ContainerError extends Error {}

export interface Entry {
  name: string;
  kind: string;
  groups: string[];
}

export interface BundleFiles {
  entries: Map<string, Entry>;
  digests: Map<string, Uint8Array>;
  data: Map<string, Uint8Array>;
  unknown: string[];
}

export function classify(name: string): Entry | null {
  if (FIXED_NAMES.includes(name)) return { name, kind: "fixed", groups: [] };
  for (const [kind, pattern] of NAME_PATTERNS) {
    const m = pattern.exec(name);
    if (m) return { name, kind, groups: m.slice(1) };
  }
  return null;
}

export function inSums(name: string): boolean {
  return !["mimetype", SUMS, SUMS_TOKEN].includes(name) && !name.startsWith("META-INF/");
}

export function inManifest(name: string): boolean {
  return name !== "mimetype" && !name.startsWith("META-INF/");
}

function checkName(name: string): void {
  if (!name || name.length > 255) throw new ContainerError(`entry name of ${name.length} characters: expected 1 to 255`);
  if (name.includes("\0") || name.includes("\\")) throw new ContainerError(`entry ${JSON.stringify(name)}: NUL or backslash in a name is not allowed`);
  if (name.startsWith("/") || name[1] === ":") throw new ContainerError(`entry ${JSON.stringify(name)}: absolute paths are not allowed`);
  if (name.replace(/\/$/, "").split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new ContainerError(`entry ${JSON.stringify(name)}: empty, '.' or '..' path segments are not allowed`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw new ContainerError(`entry ${JSON.stringify(name)}: control characters in a name are not allowed`);
}

export async function readBundle(zip: Uint8Array, limits: ZipLimits = LIMITS): Promise<BundleFiles> {
  const seen = new Set<string>();
  let total = 0;
  let first: UnzipFileInfo | null = null;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter(info) {
        first ??= info;
        if (seen.size >= limits.entries) throw new ContainerError(`more than ${limits.entries} entries`);
        checkName(info.name);
        if (seen.has(info.name)) throw new ContainerError(`entry ${JSON.stringify(info.name)} appears twice: a reader could see either copy`);
        seen.add(info.name);
        if (info.name.endsWith("/")) return false;
        if (info.compression !== 0 && info.compression !== 8) {
          throw new ContainerError(`entry ${JSON.stringify(info.name)}: compression method ${info.compression}, expected stored (0) or deflate (8)`);
        }
        if (info.originalSize > limits.entryBytes) {
          throw new ContainerError(`entry ${JSON.stringify(info.name)} is ${info.originalSize} bytes: limit ${limits.entryBytes}`);
        }
        if (info.originalSize > limits.ratioFloor && info.originalSize > limits.maxRatio * Math.max(info.size, 1)) {
          throw new ContainerError(`entry ${JSON.stringify(info.name)} inflates ${info.size} to ${info.originalSize} bytes: ` +
            `ratio above ${limits.maxRatio}:1 (ZIP bomb)`);
        }
        total += info.originalSize;
        if (total > limits.totalBytes) throw new ContainerError(`entries add up to more than ${limits.totalBytes} bytes`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ContainerError) throw e;
    throw new ContainerError(`not a readable ZIP container: ${(e as Error).message}`);
  }
  const head = first as UnzipFileInfo | null;
  if (!head) throw new ContainerError("the container is empty: expected a first entry 'mimetype'");
  if (head.name !== "mimetype") throw new ContainerError(`expected the first entry to be 'mimetype', found ${JSON.stringify(head.name)}`);
  if (head.compression !== 0) throw new ContainerError(`expected 'mimetype' stored (method 0), found compression method ${head.compression}`);
  const value = new TextDecoder().decode(files["mimetype"] ?? new Uint8Array());
  if (value !== MIMETYPE) throw new ContainerError(`expected mimetype '${MIMETYPE}', found ${JSON.stringify(value.slice(0, 80))}`);
  for (const name of seen) {
    if (!name.endsWith("/") && seen.has(name + "/")) throw new ContainerError(`entry ${JSON.stringify(name)} is both a file and a directory`);
  }
  const out: BundleFiles = { entries: new Map(), digests: new Map(), data: new Map(), unknown: [] };
  for (const [name, data] of Object.entries(files)) {
    if (name === "mimetype" || name.endsWith("/")) continue;
    out.digests.set(name, await sha256(data));
    out.data.set(name, data);
    const entry = classify(name);
    if (entry) out.entries.set(name, entry);
    else out.unknown.push(name);
  }
  return out;
}

export function ofKind(files: BundleFiles, kind: string): Entry[] {
  return [...files.entries.values()].filter((e) => e.kind === kind);
}
