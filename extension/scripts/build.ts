/**
 * Builds the extension: dist/chrome (service worker) and dist/firefox (event page, gecko id), the
 * two folders users load. `--e2e` also builds test-build/chrome-e2e for the end-to-end tests, which
 * grants the local test server's origin up front because headless Chromium cannot answer a
 * permission prompt; it is kept out of dist/ so nobody loads a build with a test server's rights.
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { ADAPTERS } from "../src/adapters/registry.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(join(root, "package.json"), "utf8"))) as { version: string };

type Target = "chrome" | "firefox" | "chrome-e2e" | "firefox-e2e";
const isE2e = (t: Target) => t === "chrome-e2e" || t === "firefox-e2e";
const isFirefox = (t: Target) => t === "firefox" || t === "firefox-e2e";

const ENTRIES = {
  background: "src/background/index.ts",
  hook: "src/content/hook.ts",
  capture: "src/content/capture.ts",
  popup: "src/popup/popup.ts",
  options: "src/options/options.ts",
};

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A small PNG icon: a stamp-like square, drawn without any image library. */
function icon(size: number): Buffer {
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(0);
    for (let x = 0; x < size; x++) {
      const edge = Math.min(x, y, size - 1 - x, size - 1 - y);
      const ring = edge < Math.max(1, size / 10);
      const dot = Math.hypot(x - size / 2, y - size / 2) < size / 5;
      const [r, g, b] = ring || dot ? [18, 92, 160] : [255, 255, 255];
      rows.push(r, g, b, 255);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0)),
  ]);
}

function manifest(target: Target): object {
  const sites = ADAPTERS.flatMap((a) => a.hosts.map((h) => `https://${h}/*`));
  const images = ADAPTERS.flatMap((a) => a.imageHosts.map((h) => `https://${h}/*`));
  const hostPermissions = [...new Set([...sites, ...images])];
  if (isE2e(target)) hostPermissions.push("http://127.0.0.1/*");
  const icons = { 16: "icons/16.png", 32: "icons/32.png", 48: "icons/48.png", 128: "icons/128.png" };
  const base = {
    manifest_version: 3,
    name: "PromptStamp",
    version: pkg.version,
    description: "Proves the human steps of AI-assisted creative work: captures each step, signs it, has it time-stamped.",
    icons,
    permissions: ["storage", "unlimitedStorage", "alarms", "contextMenus"],
    host_permissions: hostPermissions,
    optional_host_permissions: ["https://*/*", "http://*/*"],
    content_scripts: [
      { matches: sites, js: ["hook.js"], run_at: "document_start", world: "MAIN" },
      { matches: sites, js: ["capture.js"], run_at: "document_start" },
    ],
    action: { default_popup: "popup.html", default_title: "PromptStamp", default_icon: icons },
    options_ui: { page: "options.html", open_in_tab: true },
  };
  if (isFirefox(target)) {
    return {
      ...base,
      background: { scripts: ["background.js"] },
      browser_specific_settings: {
        gecko: {
          id: "extension@promptstamp.org",
          // MAIN-world content scripts: Firefox 128; Ed25519 in WebCrypto: Firefox 129.
          strict_min_version: "140.0",
          data_collection_permissions: { required: ["websiteContent", "websiteActivity"] },
        },
        gecko_android: { strict_min_version: "142.0" },
      },
    };
  }
  return { ...base, background: { service_worker: "background.js" }, minimum_chrome_version: "137" };
}

async function buildTarget(target: Target): Promise<string> {
  const out = isE2e(target) ? join(root, "test-build", target) : join(root, "dist", target);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "icons"), { recursive: true });
  await build({
    entryPoints: ENTRIES,
    outdir: out,
    bundle: true,
    format: "iife",
    target: isFirefox(target) ? ["firefox128"] : ["chrome120"],
    minify: false,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    absWorkingDir: root,
  });
  for (const f of ["popup/popup.html", "options/options.html", "ui/ui.css"]) {
    copyFileSync(join(root, "src", f), join(out, f.split("/")[1] as string));
  }
  for (const size of [16, 32, 48, 128]) writeFileSync(join(out, "icons", `${size}.png`), icon(size));
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest(target), null, 2) + "\n");
  return out;
}

const targets: Target[] = ["chrome", "firefox"];
if (process.argv.includes("--e2e")) targets.push("chrome-e2e", "firefox-e2e");
for (const t of targets) console.log(`built ${await buildTarget(t)}`);
