/** SHA256SUMS and the ASiC manifest, read exactly as the service writes them (server bundle_names.py). */
import { decodeUtf8, fromBase64, fromHex } from "./bytes.js";
import { ContainerError, MANIFEST, MANIFEST_TOKEN, SUMS } from "./bundle.js";

export function parseSums(data: Uint8Array): [string, Uint8Array][] {
  let t: string;
  try {
    t = decodeUtf8(data, SUMS);
  } catch {
    throw new ContainerError("SHA256SUMS: expected ASCII text");
  }
  if (!/^[\x20-\x7e\n]*$/.test(t)) throw new ContainerError("SHA256SUMS: expected ASCII text, found a non-ASCII byte");
  if (t && !t.endsWith("\n")) throw new ContainerError("SHA256SUMS: expected a newline at the end of the last line");
  return t.split("\n").slice(0, -1).map((line, i) => {
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    if (!m) throw new ContainerError(`SHA256SUMS line ${i + 1}: expected '<64 hex> *<name>', found ${JSON.stringify(line.slice(0, 100))}`);
    return [m[2]!, fromHex(m[1]!)];
  });
}

function xmlAttr(value: string): string {
  // Python's xml.sax.saxutils.quoteattr, as the writer uses it.
  let v = value.replace(/&/g, "&amp;").replace(/>/g, "&gt;").replace(/</g, "&lt;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
  if (v.includes('"')) v = v.includes("'") ? `"${v.replace(/"/g, "&quot;")}"` : `'${v}'`;
  else v = `"${v}"`;
  return v;
}

export function manifestXml(entries: [string, Uint8Array][]): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    '<asic:ASiCManifest xmlns:asic="http://uri.etsi.org/02918/v1.2.1#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">',
    `<asic:SigReference MimeType="application/vnd.etsi.timestamp-token" URI="${MANIFEST_TOKEN}"/>`,
  ];
  for (const [name, d] of entries) {
    lines.push(`<asic:DataObjectReference URI=${xmlAttr(name)}>`, '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>',
      `<ds:DigestValue>${btoa(String.fromCharCode(...d))}</ds:DigestValue>`, "</asic:DataObjectReference>");
  }
  lines.push("</asic:ASiCManifest>");
  return lines.join("\n") + "\n";
}

/** Parsed by re-rendering, as the server does: the bytes must be exactly what the writer writes. */
export function parseManifest(data: Uint8Array): [string, Uint8Array][] {
  const t = decodeUtf8(data, MANIFEST);
  const pairs: [string, Uint8Array][] = [];
  const re = /<asic:DataObjectReference URI="([^"<>&]*)">\n<ds:DigestMethod Algorithm="[^"]*"\/>\n<ds:DigestValue>([^<]*)<\/ds:DigestValue>\n/g;
  for (const m of t.matchAll(re)) {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(m[2]!)) throw new ContainerError(`${MANIFEST}: digest of ${JSON.stringify(m[1])} is not a base64 SHA-256`);
    pairs.push([m[1]!, fromBase64(m[2]!, MANIFEST)]);
  }
  if (manifestXml(pairs) !== t) {
    throw new ContainerError(`${MANIFEST}: expected an ASiCManifest with one SigReference to ${MANIFEST_TOKEN} and ` +
      `SHA-256 DataObjectReferences only, in PromptStamp's layout; found other content (${pairs.length} references recognised)`);
  }
  return pairs;
}

