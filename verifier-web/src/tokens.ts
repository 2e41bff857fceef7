/**
 * RFC 3161 time-stamp tokens, verified in the browser with PKI.js (CMS, X.509, path validation) and
 * WebCrypto. The checks and their names follow the service's verifier (server tokens.py), in its order:
 *  structure, status, imprint_algorithm, imprint, nonce, policy, signer, signature, ess, eku, chain.
 * Only the roots the visitor gives are anchors; embedded and extra certificates are intermediates.
 * Paths are judged at the token's genTime (RFC 3161 §4, Appendix B); no revocation data is fetched. Whether the
 * path still holds now (or at the moment given) is reported beside, for the long-term check (renewals.ts).
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { buffer, digest, equal, hex } from "./bytes.js";

export const CHECKS = ["structure", "status", "imprint_algorithm", "imprint", "nonce", "policy", "signer",
  "signature", "ess", "eku", "chain"] as const;
export type TokenCheck = (typeof CHECKS)[number];

/** The built-in development TSA's policy: its tokens are untrusted whatever root they chain to. */
export const DEV_TSA_POLICY = "2.25.313571821748590964836994007601738163612";

const ID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4";
const ID_DATA = "1.2.840.113549.1.7.1";
const ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const ATTR_SIGNING_CERT = "1.2.840.113549.1.9.16.2.12";
const ATTR_SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47";
const EKU = "2.5.29.37";
const SKI = "2.5.29.14";
const TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
const IMPRINT_ALGORITHMS: Record<string, ["SHA-256" | "SHA-384" | "SHA-512", string, number]> = {
  "2.16.840.1.101.3.4.2.1": ["SHA-256", "sha256", 32],
  "2.16.840.1.101.3.4.2.2": ["SHA-384", "sha384", 48],
  "2.16.840.1.101.3.4.2.3": ["SHA-512", "sha512", 64],
};
const WEBCRYPTO_DIGESTS: Record<string, "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512"> = {
  "1.3.14.3.2.26": "SHA-1", "2.16.840.1.101.3.4.2.1": "SHA-256", "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};

export class TokenError extends Error {
  constructor(readonly check: TokenCheck, message: string) {
    super(message);
  }
}

/** Every check held except that no path reaches a given root: intact, but untrusted. */
export class UntrustedRoot extends Error {
  constructor(message: string, readonly stoppedAt: string, readonly info: TokenInfo, readonly chain: Uint8Array[]) {
    super(message);
  }
}

export interface TokenInfo {
  genTime: Date;
  serial: string;
  policy: string;
  imprintAlgorithm: string;
  imprint: Uint8Array;
  nonce: string | null;
  signerSubject: string | null;
  certificates: Uint8Array[];
}

export interface TokenVerdict {
  info: TokenInfo;
  rootSubject: string;
  chain: Uint8Array[]; // signer .. root, DER
  notes: string[];
  validNow: boolean; // the path is also valid now, or at the ``at`` given (false e.g. once a certificate expired)
  expires: Date | null; // the first notAfter on the path below its anchor: validNow flips then
}

interface Parsed {
  status: "granted" | "granted_with_mods";
  signedData: pkijs.SignedData;
  tstInfo: pkijs.TSTInfo;
  content: Uint8Array;
  certs: Cert[];
  info: TokenInfo;
}

interface Cert {
  der: Uint8Array;
  cert: pkijs.Certificate;
}

export function loadCertificate(der: Uint8Array): Cert {
  const asn = asn1js.fromBER(buffer(der));
  if (asn.offset === -1) throw new Error("not a DER X.509 certificate");
  return { der, cert: new pkijs.Certificate({ schema: asn.result }) };
}

/** The DER certificates of PEM text, in order. */
export function pemCertificates(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    const bin = atob((m[1] ?? "").replace(/\s+/g, ""));
    out.push(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }
  return out;
}

const ATTR_NAMES: Record<string, string> = {
  "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID", "2.5.4.9": "STREET",
};

/** RFC 4514 text, most significant RDN last (as the service writes names). */
export function nameText(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues.slice().reverse().map((tv) => {
    const key = ATTR_NAMES[tv.type] ?? tv.type;
    const value = String((tv.value.valueBlock as { value?: unknown }).value ?? "");
    return `${key}=${value.replace(/([,+"\\<>;])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ")}`;
  }).join(",");
}

function sameName(a: pkijs.RelativeDistinguishedNames, b: pkijs.RelativeDistinguishedNames): boolean {
  return a.isEqual(b);
}

function fail(check: TokenCheck, detail: string): TokenError {
  return new TokenError(check, detail);
}

function integerText(value: asn1js.Integer): string {
  return BigInt("0x" + (hex(value.valueBlock.valueHexView) || "0")).toString();
}

function octets(value: asn1js.OctetString): Uint8Array {
  const block = value.valueBlock;
  if (!block.isConstructed) return new Uint8Array(block.valueHexView);
  const parts = (block.value as asn1js.OctetString[]).map(octets);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Dotted text of an OID's content bytes (X.690 §8.19), exact for arcs of any size (asn1js's own text is not,
 * for UUID-derived 2.25 arcs such as the development TSA's policy). */
export function oidText(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const [a, b] = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [a, b, ...arcs].join(".");
}

/** TSTInfo.policy (RFC 3161 §2.4.2: the second field) read from the encoded TSTInfo. */
function policyOf(content: Uint8Array, fallback: string): string {
  const asn = asn1js.fromBER(buffer(content));
  const field = asn.result instanceof asn1js.Sequence ? asn.result.valueBlock.value[1] : undefined;
  if (!(field instanceof asn1js.ObjectIdentifier)) return fallback;
  const tlv = new Uint8Array(field.valueBeforeDecodeView); // tag 06, length, content: as received
  const lengthBytes = tlv[1]! < 0x80 ? 0 : tlv[1]! & 0x7f;
  return oidText(tlv.subarray(2 + lengthBytes));
}

function parse(der: Uint8Array): Parsed {
  const asn = asn1js.fromBER(buffer(der));
  if (asn.offset === -1 || !(asn.result instanceof asn1js.Sequence)) {
    throw fail("structure", "expected a DER TimeStampResp or TimeStampToken, found something else");
  }
  let contentInfo: pkijs.ContentInfo;
  let status: Parsed["status"] = "granted";
  const first = asn.result.valueBlock.value[0];
  try {
    if (first instanceof asn1js.Sequence) {
      const resp = new pkijs.TimeStampResp({ schema: asn.result });
      const code = resp.status.status;
      if (code !== 0 && code !== 1) {
        const text = resp.status.statusStrings?.map((s) => s.valueBlock.value).join("; ") ?? "";
        throw fail("status", `expected PKIStatus granted or grantedWithMods, found ${code}${text ? ` (${text})` : ""}`);
      }
      status = code === 1 ? "granted_with_mods" : "granted";
      if (!resp.timeStampToken) throw fail("structure", "expected a timeStampToken in a granted response, found none");
      contentInfo = resp.timeStampToken;
    } else {
      contentInfo = new pkijs.ContentInfo({ schema: asn.result });
    }
  } catch (e) {
    if (e instanceof TokenError) throw e;
    throw fail("structure", `expected a DER TimeStampResp or TimeStampToken, found: ${(e as Error).message}`);
  }
  if (contentInfo.contentType !== ID_SIGNED_DATA) {
    throw fail("structure", `expected CMS SignedData, found content type ${contentInfo.contentType}`);
  }
  let signedData: pkijs.SignedData;
  let tstInfo: pkijs.TSTInfo;
  let content: Uint8Array;
  try {
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
    if (signedData.signerInfos.length !== 1) {
      throw fail("structure", `expected one SignerInfo, found ${signedData.signerInfos.length}`);
    }
    if (signedData.encapContentInfo.eContentType !== ID_CT_TSTINFO || !signedData.encapContentInfo.eContent) {
      throw fail("structure", `expected encapsulated id-ct-TSTInfo, found ${signedData.encapContentInfo.eContentType}`);
    }
    content = octets(signedData.encapContentInfo.eContent);
    tstInfo = pkijs.TSTInfo.fromBER(buffer(content));
  } catch (e) {
    if (e instanceof TokenError) throw e;
    throw fail("structure", `malformed SignedData or TSTInfo: ${(e as Error).message}`);
  }
  const certs: Cert[] = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((cert) => ({ cert, der: new Uint8Array(cert.toSchema().toBER()) }));
  const alg = tstInfo.messageImprint.hashAlgorithm.algorithmId;
  const info: TokenInfo = {
    genTime: tstInfo.genTime,
    serial: integerText(tstInfo.serialNumber),
    policy: policyOf(content, tstInfo.policy),
    imprintAlgorithm: IMPRINT_ALGORITHMS[alg]?.[1] ?? alg,
    imprint: new Uint8Array(tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView),
    nonce: tstInfo.nonce ? integerText(tstInfo.nonce) : null,
    signerSubject: null,
    certificates: certs.map((c) => c.der),
  };
  const parsed: Parsed = { status, signedData, tstInfo, content, certs, info };
  const signer = findSigner(parsed, []);
  info.signerSubject = signer ? nameText(signer.cert.subject) : null;
  return parsed;
}

export function tokenInfo(der: Uint8Array): TokenInfo {
  return parse(der).info;
}

function findSigner(tok: Parsed, extra: Cert[]): Cert | null {
  const sid = tok.signedData.signerInfos[0]!.sid;
  for (const c of [...tok.certs, ...extra]) {
    if (sid instanceof pkijs.IssuerAndSerialNumber) {
      if (sameName(c.cert.issuer, sid.issuer) && c.cert.serialNumber.isEqual(sid.serialNumber)) return c;
    } else {
      const ski = c.cert.extensions?.find((e) => e.extnID === SKI);
      const value = ski ? new Uint8Array((ski.parsedValue as asn1js.OctetString).valueBlock.valueHexView) : null;
      const wanted = new Uint8Array((sid as asn1js.OctetString).valueBlock.valueHexView);
      if (value && equal(value, wanted)) return c;
    }
  }
  return null;
}

function signedAttr(tok: Parsed, type: string): asn1js.AsnType[] {
  const attrs = tok.signedData.signerInfos[0]!.signedAttrs?.attributes ?? [];
  const found = attrs.filter((a) => a.type === type);
  if (found.length > 1) throw fail("signature", `expected at most one ${type} signed attribute, found ${found.length}`);
  return found[0]?.values ?? [];
}

export interface VerifyOptions {
  digest?: Uint8Array;
  data?: Uint8Array;
  roots: Uint8Array[];
  extraCerts?: Uint8Array[];
  /** When "now" is for judging whether the path still holds (the path itself is validated at genTime). */
  at?: Date;
}

/** Run every check in order; throw TokenError at the first failure, UntrustedRoot when only trust is missing. */
export async function verifyToken(der: Uint8Array, options: VerifyOptions): Promise<TokenVerdict> {
  const tok = parse(der);
  const { info } = tok;
  const alg = IMPRINT_ALGORITHMS[tok.tstInfo.messageImprint.hashAlgorithm.algorithmId];
  if (!alg) {
    throw fail("imprint_algorithm", `expected SHA-256, SHA-384 or SHA-512 as imprint algorithm, found ${info.imprintAlgorithm}`);
  }
  if (info.imprint.length !== alg[2]) {
    throw fail("imprint_algorithm", `expected a ${alg[2]}-byte ${alg[1]} imprint, found ${info.imprint.length} bytes`);
  }
  const expected = options.digest ?? await digest(alg[0], options.data ?? new Uint8Array());
  if (!equal(expected, info.imprint)) {
    const what = options.digest ? "the given digest" : `${alg[1]} of the data`;
    throw fail("imprint", `expected imprint ${hex(expected)} (${what}), found ${alg[1]} ${hex(info.imprint)}`);
  }
  const extra = (options.extraCerts ?? []).map(loadCertificate);
  const signer = findSigner(tok, extra);
  if (!signer) {
    throw fail("signer", `expected a certificate matching the SignerIdentifier, found none among ${tok.certs.length} ` +
      `embedded and ${extra.length} supplied certificate(s)`);
  }
  await checkSignature(tok, signer);
  await checkEss(tok, signer);
  checkEku(signer);
  return checkChain(tok, signer, options.roots.map(loadCertificate), [...tok.certs, ...extra], options.at ?? new Date());
}

async function checkSignature(tok: Parsed, signer: Cert): Promise<void> {
  const si = tok.signedData.signerInfos[0]!;
  if (!si.signedAttrs) throw fail("signature", "expected signed attributes (contentType, messageDigest), found none");
  const contentType = signedAttr(tok, ATTR_CONTENT_TYPE);
  const ct = contentType[0] instanceof asn1js.ObjectIdentifier ? contentType[0].valueBlock.toString() : null;
  if (contentType.length !== 1 || ct !== ID_CT_TSTINFO) {
    throw fail("signature", `expected contentType signed attribute id-ct-TSTInfo, found ${ct ?? "none"}`);
  }
  const mdAlg = WEBCRYPTO_DIGESTS[si.digestAlgorithm.algorithmId];
  if (!mdAlg || mdAlg === "SHA-1") {
    throw fail("signature", `expected a collision-resistant signature digest (SHA-2), found ${si.digestAlgorithm.algorithmId}`);
  }
  const contentDigest = await digest(mdAlg, tok.content);
  const md = signedAttr(tok, ATTR_MESSAGE_DIGEST);
  const found = md[0] instanceof asn1js.OctetString ? octets(md[0]) : null;
  if (md.length !== 1 || !found || !equal(found, contentDigest)) {
    throw fail("signature", `expected messageDigest ${mdAlg} ${hex(contentDigest)} of the TSTInfo, found ${found ? hex(found) : "none"}`);
  }
  // PKI.js checks the signature over the DER SET OF signed attributes with the signer's key (RSA, RSA-PSS, ECDSA).
  // Its TSTInfo branch would re-check the imprint against the original data (checked above, maybe from a
  // digest only), so the content type is set aside while PKI.js checks messageDigest and the signature.
  const signedData = tok.signedData;
  const saved = signedData.certificates;
  signedData.certificates = [signer.cert];
  signedData.encapContentInfo.eContentType = ID_DATA;
  let ok = false;
  let reason = "signature does not verify";
  try {
    const result = await signedData.verify({ signer: 0, checkChain: false, extendedMode: true });
    ok = result.signatureVerified === true;
  } catch (e) {
    const r = e as { message?: string; signatureVerified?: boolean };
    reason = r.message ?? reason;
  } finally {
    signedData.certificates = saved;
    signedData.encapContentInfo.eContentType = ID_CT_TSTINFO;
  }
  if (!ok) {
    throw fail("signature", `expected a valid signature by '${nameText(signer.cert.subject)}', found: ${reason}`);
  }
}

async function checkEss(tok: Parsed, signer: Cert): Promise<void> {
  let present = false;
  for (const [type, name] of [[ATTR_SIGNING_CERT_V2, "signing_certificate_v2"], [ATTR_SIGNING_CERT, "signing_certificate"]] as const) {
    let values: asn1js.AsnType[];
    try {
      values = signedAttr(tok, type);
    } catch (e) {
      throw fail("ess", (e as Error).message);
    }
    if (values.length === 0) continue;
    present = true;
    const certs = values.length === 1 && values[0] instanceof asn1js.Sequence ? values[0].valueBlock.value[0] : undefined;
    const first = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
    if (!(first instanceof asn1js.Sequence)) {
      throw fail("ess", `expected one ${name} value with at least one ESSCertID, found ${values.length} value(s)`);
    }
    // ESSCertID ::= SEQUENCE { certHash (SHA-1) ... }; ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash ... }
    const parts = first.valueBlock.value;
    let algorithm: "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512" = type === ATTR_SIGNING_CERT ? "SHA-1" : "SHA-256";
    let hashAt = 0;
    if (type === ATTR_SIGNING_CERT_V2 && parts[0] instanceof asn1js.Sequence) {
      const oid = parts[0].valueBlock.value[0];
      const named = oid instanceof asn1js.ObjectIdentifier ? WEBCRYPTO_DIGESTS[oid.valueBlock.toString()] : undefined;
      if (!named) throw fail("ess", `cannot evaluate ${name}: unknown hash algorithm`);
      algorithm = named;
      hashAt = 1;
    }
    const certHash = parts[hashAt];
    if (!(certHash instanceof asn1js.OctetString)) throw fail("ess", `cannot evaluate ${name}: no certHash`);
    const actual = new Uint8Array(await crypto.subtle.digest(algorithm, buffer(signer.der)));
    const claimed = octets(certHash);
    if (!equal(actual, claimed)) {
      throw fail("ess", `expected ${name} to identify the signer '${nameText(signer.cert.subject)}' ` +
        `(${algorithm.toLowerCase().replace("-", "")} ${hex(actual)}), found certHash ${hex(claimed)}`);
    }
  }
  if (!present) {
    throw fail("ess", "expected an ESS signingCertificate or signingCertificateV2 signed attribute (RFC 3161 §2.4.1, " +
      "RFC 5816), found neither");
  }
}

function checkEku(signer: Cert): void {
  const subject = nameText(signer.cert.subject);
  const ext = signer.cert.extensions?.find((e) => e.extnID === EKU);
  if (!ext) throw fail("eku", `expected '${subject}' to carry a critical extendedKeyUsage timeStamping, found none`);
  const purposes = (ext.parsedValue as pkijs.ExtKeyUsage).keyPurposes;
  if (purposes.length !== 1 || purposes[0] !== TIME_STAMPING) {
    throw fail("eku", `expected extendedKeyUsage exactly timeStamping (RFC 3161 §2.3), found ${purposes.join(", ") || "an empty list"}`);
  }
  if (!ext.critical) {
    throw fail("eku", "expected a critical timeStamping extendedKeyUsage (RFC 3161 §2.3), found it non-critical");
  }
}

function selfIssued(c: Cert): boolean {
  return sameName(c.cert.subject, c.cert.issuer);
}

/** Whether ``issuer`` signed ``cert``: a link a path may follow (names alone can be copied by a forger). */
async function signedBy(cert: Cert, issuer: Cert): Promise<boolean> {
  if (!sameName(issuer.cert.subject, cert.cert.issuer)) return false;
  try {
    return await cert.cert.verify(issuer.cert);
  } catch {
    return false;
  }
}

/** Depth-first from the signer to a given root along verified links; the first path that ends in an anchor. */
async function findPath(signer: Cert, anchors: Cert[], pool: Cert[]): Promise<Cert[] | null> {
  const walk = async (path: Cert[]): Promise<Cert[] | null> => {
    const cur = path[path.length - 1]!;
    if (anchors.some((a) => equal(a.der, cur.der))) return path;
    if (path.length > 10 || selfIssued(cur)) return null;
    for (const a of anchors) if (await signedBy(cur, a)) return [...path, a];
    for (const c of pool) {
      if (path.some((p) => equal(p.der, c.der)) || !(await signedBy(cur, c))) continue;
      const found = await walk([...path, c]);
      if (found) return found;
    }
    return null;
  };
  return walk([signer]);
}

async function checkChain(tok: Parsed, signer: Cert, anchors: Cert[], pool: Cert[], now: Date): Promise<TokenVerdict> {
  const { info } = tok;
  const when = info.genTime.toISOString().replace(/\.000Z$/, "Z");
  let path: Cert[] | null = null;
  let lastProblem = "";
  // Try each candidate path (cross-certified roots give several); the first one PKI.js validates at genTime wins.
  for (const anchor of anchors) {
    const candidate = await findPath(signer, [anchor], pool);
    if (!candidate) continue;
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: [anchor.cert],
      certs: candidate.filter((c) => !equal(c.der, anchor.der)).map((c) => c.cert),
      checkDate: info.genTime,
    });
    const result = await engine.verify();
    if (result.result) {
      path = candidate;
      break;
    }
    lastProblem = result.resultMessage;
  }
  if (!path) {
    if (lastProblem) throw fail("chain", `expected a certificate path valid at genTime ${when}, found: ${lastProblem}`);
    throw untrusted(info, signer, anchors, pool);
  }
  const root = path[path.length - 1]!;
  const notes: string[] = [];
  if (tok.status === "granted_with_mods") notes.push("the TSA granted the request with modifications (PKIStatus grantedWithMods)");
  if (path.length === 1) notes.push("the signer certificate is itself one of the given roots");
  const belowAnchor = path.slice(0, -1);
  const lapsed = belowAnchor.flatMap((c) => {
    const who = equal(c.der, signer.der) ? "leaf" : "CA";
    const after = c.cert.notAfter.value;
    const before = c.cert.notBefore.value;
    if (after < now) return [`${who} '${nameText(c.cert.subject)}' expired ${after.toISOString().slice(0, 10)}`];
    if (before > now) return [`${who} '${nameText(c.cert.subject)}' is not valid before ${before.toISOString().slice(0, 10)}`];
    return [];
  });
  if (lapsed.length) notes.push("validated at genTime only; " + lapsed.join("; "));
  const expiries = belowAnchor.map((c) => c.cert.notAfter.value.getTime());
  return {
    info, rootSubject: nameText(root.cert.subject), chain: path.map((c) => c.der), notes, validNow: !lapsed.length,
    expires: expiries.length ? new Date(Math.min(...expiries)) : null,
  };
}

function untrusted(info: TokenInfo, signer: Cert, anchors: Cert[], pool: Cert[]): UntrustedRoot {
  const chain = [signer];
  let stopped: string;
  let why: string;
  for (;;) {
    const cur = chain[chain.length - 1]!;
    if (chain.length >= 16) {
      [stopped, why] = [nameText(cur.cert.issuer), "a chain too long to follow"];
      break;
    }
    if (selfIssued(cur)) {
      [stopped, why] = [nameText(cur.cert.subject), "a self-signed certificate"];
      break;
    }
    const issuer = pool.find((c) => sameName(c.cert.subject, cur.cert.issuer) && !chain.includes(c));
    if (!issuer) {
      [stopped, why] = [nameText(cur.cert.issuer), "an issuer whose certificate was not supplied"];
      break;
    }
    chain.push(issuer);
  }
  let expected: string;
  if (anchors.length > 0 && anchors.length <= 3) {
    expected = `a path to one of the given roots (${anchors.map((a) => `'${nameText(a.cert.subject)}'`).join("; ")})`;
  } else if (anchors.length) {
    expected = `a path to one of the ${anchors.length} given roots`;
  } else {
    expected = "a path to a trusted root (none was given)";
  }
  return new UntrustedRoot(`token is intact but untrusted: expected ${expected}, found that the chain of ` +
    `'${nameText(signer.cert.subject)}' stops at '${stopped}', ${why}`, stopped, info, chain.map((c) => c.der));
}

/** Why a token that passed every check still proves nothing: the development TSA's policy. */
export function developmentDetail(info: TokenInfo): string | null {
  if (info.policy !== DEV_TSA_POLICY) return null;
  return `the token carries policy ${DEV_TSA_POLICY}, the PromptStamp development TSA's: a locally made ` +
    "TSA whose root anyone can generate, so it is untrusted whatever root it chains to";
}
