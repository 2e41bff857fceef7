// Builds the browser verifier twice from one bundle:
//  - the script the service serves for /verify (its CSP is script-src 'self': a static file, nothing inline);
//  - verify.html, one self-contained file anyone can save and open offline, its script and style inline and
//    allowed by a Content-Security-Policy meta naming their SHA-256 hashes (nothing else may run or load).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const served = join(here, "..", "server", "promptstamp", "web", "static", "verify.js");
const standalone = join(here, "dist", "verify.html");
const packaged = join(here, "..", "server", "promptstamp", "web", "verifier_dist", "verify.html");

const result = await esbuild.build({
  entryPoints: [join(here, "src", "page.ts")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome120", "firefox128"],
  minify: true,
  legalComments: "eof",
  write: false,
});
const script = result.outputFiles[0].text;
mkdirSync(dirname(served), { recursive: true });
writeFileSync(served, script);

const style = readFileSync(join(here, "src", "standalone.css"), "utf8");
const hash = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const csp = `default-src 'none'; script-src ${hash(script)}; style-src ${hash(style)}; img-src data:; ` +
  "form-action 'none'; base-uri 'none'";
const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Verify PromptStamp evidence (offline)</title>
<style>${style}</style>
</head>
<body>
<main>
<h1>Verify PromptStamp evidence</h1>
<p>This file checks an evidence bundle, or any RFC 3161 time-stamp token with the file (or digest) it stamps,
entirely in your browser: it makes no network request and uploads nothing. Give the TSA root certificates and
service keys <em>you</em> trust, from a source other than the evidence; evidence never supplies its own anchors.</p>
<noscript><p class="error">This verifier needs JavaScript.</p></noscript>
<div id="verifier"></div>
</main>
<script>${script}</script>
</body>
</html>
`;
for (const out of [standalone, packaged]) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
}
console.log(`built ${served} (${script.length} bytes) and ${standalone} (${html.length} bytes)`);
