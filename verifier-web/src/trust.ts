/**
 * The anchors the visitor gives (never taken from the evidence) and the Ed25519 keys of a bundle.
 * Key id = first 16 hex of SHA-256 of the raw 32-byte public key (DESIGN.md, "Keys").
 */
import { buffer, concat, equal, fromBase64, hex, sha256Small } from "./bytes.js";
import { pemCertificates } from "./tokens.js";

export interface Trust {
  tsaRoots: Uint8Array[];
  keyIds: Set<string>;
  keyFingerprints: Set<string>;
  /** The moment certificate validity is judged at instead of now (``promptstamp verify --at``). */
  at?: Date;
}

// RFC 8410 §4: SubjectPublicKeyInfo of an Ed25519 key is this 12-byte prefix and the 32-byte key.
const ED25519_SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

export function publicKeyFromPem(text: string): Uint8Array {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(text);
  if (!m) throw new Error("expected a PEM 'PUBLIC KEY' block, found none");
  const der = fromBase64((m[1] ?? "").replace(/\s+/g, ""), "public key");
  if (der.length !== 44 || !equal(der.slice(0, 12), ED25519_SPKI_PREFIX)) {
    throw new Error("expected an Ed25519 SubjectPublicKeyInfo (RFC 8410), found another key");
  }
  return der.slice(12);
}

export async function keyId(raw: Uint8Array): Promise<string> {
  return hex(sha256Small(raw)).slice(0, 16);
}

export async function fingerprint(raw: Uint8Array): Promise<string> {
  return hex(sha256Small(raw));
}

/** The fingerprint as reports and the keys page write it: groups of four hex digits. */
export async function fingerprintText(raw: Uint8Array): Promise<string> {
  return (await fingerprint(raw)).match(/.{4}/g)!.join(":");
}

/** Ed25519 by WebCrypto (Chromium, Firefox and Node support it); throws when the signature does not verify. */
export async function verifyEd25519(raw: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<void> {
  const key = await importEd25519(raw);
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, buffer(signature), buffer(message)))) {
    throw new Error("Ed25519 signature does not verify");
  }
}

// Each key is imported once: a bundle's records share one service key and a few device keys, and an
// import costs WebCrypto more than the verification it serves. Bounded for a page that checks many bundles.
const imported = new Map<string, Promise<CryptoKey>>();
const IMPORTED_MAX = 1024;

function importEd25519(raw: Uint8Array): Promise<CryptoKey> {
  const id = hex(raw);
  let key = imported.get(id);
  if (key === undefined) {
    if (imported.size >= IMPORTED_MAX) imported.clear();
    key = crypto.subtle.importKey("spki", buffer(concat(ED25519_SPKI_PREFIX, raw)), { name: "Ed25519" }, false, ["verify"]);
    imported.set(id, key);
  }
  return key;
}

/** Roots are the self-signed certificates of the given PEM files; the rest become untrusted intermediates. */
export async function buildTrust(rootPems: string[], keys: string[]): Promise<{ trust: Trust; intermediates: Uint8Array[] }> {
  const { loadCertificate } = await import("./tokens.js");
  const trust: Trust = { tsaRoots: [], keyIds: new Set(), keyFingerprints: new Set() };
  const intermediates: Uint8Array[] = [];
  for (const pem of rootPems) {
    for (const der of pemCertificates(pem)) {
      const { cert } = loadCertificate(der);
      (cert.subject.isEqual(cert.issuer) ? trust.tsaRoots : intermediates).push(der);
    }
  }
  for (const key of keys) {
    if (key.includes("-----BEGIN")) {
      trust.keyFingerprints.add(await fingerprint(publicKeyFromPem(key)));
      continue;
    }
    const compact = key.trim().toLowerCase().replace(/:/g, "");
    if (/^[0-9a-f]{16}$/.test(compact)) trust.keyIds.add(compact);
    else if (/^[0-9a-f]{64}$/.test(compact)) trust.keyFingerprints.add(compact);
    else throw new Error(`trusted key: expected an Ed25519 SPKI PEM, a 16-hex key id or a 64-hex fingerprint, found ${JSON.stringify(key.slice(0, 40))}`);
  }
  return { trust, intermediates };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** A date (2041-06-01) or an RFC 3339 time, as ``promptstamp verify --at`` reads it: without a zone it is UTC. */
export function parseMoment(text: string): Date {
  const value = text.trim();
  const match = TIME.exec(value);
  const iso = DATE.test(value) ? `${value}T00:00:00Z` : match ? (match[1] ? value : `${value}Z`).replace(" ", "T") : null;
  const moment = iso === null ? null : new Date(iso);
  if (!moment || Number.isNaN(moment.getTime())) {
    throw new Error(`at: expected a date (2041-06-01) or an RFC 3339 time, found ${JSON.stringify(value.slice(0, 40))}`);
  }
  return moment;
}

export async function trustsKey(trust: Trust, raw: Uint8Array): Promise<boolean> {
  return trust.keyIds.has(await keyId(raw)) || trust.keyFingerprints.has(await fingerprint(raw));
}
