/**
 * OCSP (RFC 6960) responses archived with TSA certificates, read without network and judged at a token's genTime,
 * in the words of the service's verifier (server ocsp.py, verify/revocation.py).
 *
 * A response counts only when it answers for exactly that certificate (CertID with the issuer's name and key
 * hashes and the serial) and is signed by the issuer itself or by a responder certificate the issuer issued for
 * OCSP signing (id-kp-OCSPSigning, RFC 6960 §4.2.2.2). A certificate revoked at or before genTime makes the token
 * worthless; one revoked later for key or CA compromise (or with no reason given) too, since whoever held the key
 * could write any genTime; any other later reason leaves earlier tokens valid.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { buffer, decodeUtf8, equal, fromBase64, hex } from "./bytes.js";
import { loadCertificate, nameText } from "./tokens.js";

const ID_PKIX_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1";
const EKU = "2.5.29.37";
const OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
const CERT_ID_HASHES: Record<string, "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512"> = {
  "1.3.14.3.2.26": "SHA-1", "2.16.840.1.101.3.4.2.1": "SHA-256", "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
// RFC 5280 §5.3.1 CRLReason, as the service's verifier names them (value 7 is unused).
const REASONS = ["unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
  "cessation_of_operation", "certificate_hold", "", "remove_from_crl", "privilege_withdrawn", "aa_compromise"];
// Reasons after which no signature by the key can be trusted, whatever time it names.
const COMPROMISE_REASONS = new Set(["unspecified", "key_compromise", "ca_compromise", "aa_compromise"]);
const RESPONSE_STATUS = ["successful", "malformed_request", "internal_error", "try_later", "", "sig_required", "unauthorized"];

export interface OcspStatus {
  subject: string;
  status: "good" | "revoked" | "unknown";
  producedAt: Date;
  revocationTime: Date | null;
  reason: string | null;
}

type Cert = ReturnType<typeof loadCertificate>;

/** A moment as the service's verifier writes these (Python isoformat of a UTC time: "+00:00", no "Z"). */
function isoOffset(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === "000" ? "+00:00" : `.${ms}000+00:00`));
}

/** The subject Name as encoded and the subjectPublicKey bits: what a CertID's issuer hashes are over. */
function nameAndKey(c: Cert): { name: Uint8Array; key: Uint8Array } {
  const tbs = asn1js.fromBER(buffer(new Uint8Array(c.cert.tbsView))).result as asn1js.Sequence;
  const fields = tbs.valueBlock.value;
  const at = fields[0]!.idBlock.tagClass === 3 ? 1 : 0; // [0] version is optional
  return {
    name: new Uint8Array(fields[at + 4]!.valueBeforeDecodeView),
    key: new Uint8Array(c.cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView),
  };
}

async function hash(algorithm: string, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, buffer(data)));
}

async function answersFor(single: pkijs.SingleResponse, cert: Cert, issuer: Cert): Promise<boolean> {
  const id = single.certID;
  const algorithm = CERT_ID_HASHES[id.hashAlgorithm.algorithmId];
  if (!algorithm || !equal(new Uint8Array(id.serialNumber.valueBlock.valueHexView), new Uint8Array(cert.cert.serialNumber.valueBlock.valueHexView))) {
    return false;
  }
  const { name, key } = nameAndKey(issuer);
  return equal(await hash(algorithm, name), new Uint8Array(id.issuerNameHash.valueBlock.valueHexView))
    && equal(await hash(algorithm, key), new Uint8Array(id.issuerKeyHash.valueBlock.valueHexView));
}

async function isResponder(basic: pkijs.BasicOCSPResponse, c: Cert): Promise<boolean> {
  const id: unknown = basic.tbsResponseData.responderID;
  if (id instanceof pkijs.RelativeDistinguishedNames) return id.isEqual(c.cert.subject);
  if (!(id instanceof asn1js.OctetString)) return false;
  return equal(new Uint8Array(id.valueBlock.valueHexView), await hash("SHA-1", nameAndKey(c).key));
}

async function issuedForOcsp(responder: Cert, issuer: Cert): Promise<boolean> {
  const eku = responder.cert.extensions?.find((e) => e.extnID === EKU);
  if (!eku || !(eku.parsedValue as pkijs.ExtKeyUsage).keyPurposes.includes(OCSP_SIGNING)) return false;
  if (!responder.cert.issuer.isEqual(issuer.cert.subject)) return false;
  try {
    return await responder.cert.verify(issuer.cert);
  } catch {
    return false;
  }
}

async function checkSignature(basic: pkijs.BasicOCSPResponse, issuer: Cert): Promise<void> {
  let signer: Cert | null = (await isResponder(basic, issuer)) ? issuer : null;
  for (const candidate of basic.certs ?? []) {
    if (signer) break;
    const c = loadCertificate(new Uint8Array(candidate.toSchema().toBER()));
    if ((await isResponder(basic, c)) && (await issuedForOcsp(c, issuer))) signer = c;
  }
  if (!signer) throw new Error("the OCSP response is signed neither by the issuer nor by a responder it designated");
  let ok: boolean;
  try {
    ok = await pkijs.getCrypto(true).verifyWithPublicKey(buffer(basic.tbsResponseData.tbsView), basic.signature,
      signer.cert.subjectPublicKeyInfo, basic.signatureAlgorithm);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error("the OCSP response's signature does not verify");
}

/** CertStatus: good [0], revoked [1] RevokedInfo { revocationTime, [0] EXPLICIT CRLReason OPTIONAL }, unknown [2]. */
function statusOf(single: pkijs.SingleResponse): Pick<OcspStatus, "status" | "revocationTime" | "reason"> {
  const raw = single.certStatus as asn1js.AsnType;
  const tag = raw.idBlock.tagNumber;
  if (tag === 0) return { status: "good", revocationTime: null, reason: null };
  if (tag !== 1) return { status: "unknown", revocationTime: null, reason: null };
  const info = asn1js.fromBER(raw.valueBeforeDecodeView.slice().buffer).result as asn1js.Constructed;
  const [time, reason] = info.valueBlock.value;
  if (!(time instanceof asn1js.GeneralizedTime)) throw new Error("not an OCSP response: a revocation without its time");
  const code = reason instanceof asn1js.Constructed ? (reason.valueBlock.value[0] as asn1js.Enumerated | undefined) : undefined;
  return { status: "revoked", revocationTime: time.toDate(), reason: code ? (REASONS[code.valueBlock.valueDec] || "unspecified") : "unspecified" };
}

/** What a BasicOCSPResponse says about ``cert`` (issued by ``issuer``); throws naming what does not hold. */
export async function readBasic(basicDer: Uint8Array, certDer: Uint8Array, issuerDer: Uint8Array): Promise<OcspStatus> {
  const cert = loadCertificate(certDer);
  const issuer = loadCertificate(issuerDer);
  let basic: pkijs.BasicOCSPResponse;
  try {
    basic = pkijs.BasicOCSPResponse.fromBER(buffer(basicDer));
  } catch (e) {
    throw new Error(`not an OCSP response: ${(e as Error).message}`, { cause: e });
  }
  let single: pkijs.SingleResponse | undefined;
  for (const s of basic.tbsResponseData.responses) {
    if (await answersFor(s, cert, issuer)) {
      single = s;
      break;
    }
  }
  if (!single) {
    const serial = BigInt("0x" + (hex(new Uint8Array(cert.cert.serialNumber.valueBlock.valueHexView)) || "0"));
    throw new Error(`the OCSP response does not answer for serial 0x${serial.toString(16)} of this issuer`);
  }
  await checkSignature(basic, issuer);
  return { subject: nameText(cert.cert.subject), producedAt: basic.tbsResponseData.producedAt, ...statusOf(single) };
}

/** An OCSPResponse (RFC 6960 §4.2.1): successful, with a basic response, read as ``readBasic`` reads it. */
export async function readResponse(der: Uint8Array, certDer: Uint8Array, issuerDer: Uint8Array): Promise<OcspStatus> {
  let response: pkijs.OCSPResponse;
  try {
    response = pkijs.OCSPResponse.fromBER(buffer(der));
  } catch (e) {
    throw new Error(`not an OCSP response: ${(e as Error).message}`, { cause: e });
  }
  const code = response.responseStatus.valueBlock.valueDec;
  if (code !== 0) throw new Error(`OCSP responder answered ${RESPONSE_STATUS[code] || `status ${code}`}`);
  if (response.responseBytes?.responseType !== ID_PKIX_OCSP_BASIC) throw new Error("not an OCSP response: expected a basic response");
  return readBasic(new Uint8Array(response.responseBytes.response.valueBlock.valueHexView), certDer, issuerDer);
}

/** Whether a token with this genTime stands, given its certificate's archived status. */
export function judge(status: OcspStatus, genTime: Date): { valid: boolean; detail: string } {
  if (status.status === "unknown") return { valid: false, detail: `${status.subject}: the OCSP responder does not know this certificate` };
  if (status.status === "good") return { valid: true, detail: `${status.subject}: not revoked (OCSP, produced ${isoOffset(status.producedAt)})` };
  const when = `revoked on ${isoOffset(status.revocationTime!)} (reason: ${status.reason})`;
  if (status.revocationTime! <= genTime) return { valid: false, detail: `${status.subject}: ${when}, at or before the time-stamp's genTime` };
  if (COMPROMISE_REASONS.has(status.reason!)) {
    return { valid: false, detail: `${status.subject}: ${when}; a compromised key could have written any genTime` };
  }
  return { valid: true, detail: `${status.subject}: ${when}, after genTime and not for a compromise` };
}

/** A token's ``<tsa>.ocsp.json`` judged at its genTime along its validated path (signer .. root): the note the
 * token's check carries; throws "revocation data: ..." or "TSA certificate revoked: ..." when it does not hold. */
export async function revocationDetail(data: Uint8Array, chain: Uint8Array[], genTime: Date): Promise<string> {
  const entries: { cert: Uint8Array; issuer: Uint8Array; ocsp: Uint8Array | null }[] = [];
  const statuses: (OcspStatus | null)[] = [];
  try {
    const doc = JSON.parse(decodeUtf8(data, "revocation data")) as { certificates: Record<string, unknown>[] };
    for (const c of doc.certificates) {
      const ocsp = c["ocsp"] === null || c["ocsp"] === undefined ? null : fromBase64(String(c["ocsp"]), "ocsp");
      entries.push({ cert: fromBase64(String(c["cert"]), "cert"), issuer: fromBase64(String(c["issuer"]), "issuer"), ocsp });
    }
    for (const e of entries) statuses.push(e.ocsp ? await readResponse(e.ocsp, e.cert, e.issuer) : null);
  } catch (e) {
    throw new Error(`revocation data: ${(e as Error).message}`, { cause: e });
  }
  const pairs = new Set(chain.slice(0, -1).map((c, i) => `${hex(c)}|${hex(chain[i + 1]!)}`));
  const notes: string[] = [];
  for (const [i, entry] of entries.entries()) {
    if (!pairs.has(`${hex(entry.cert)}|${hex(entry.issuer)}`)) throw new Error("revocation data for a certificate that is not on the token's validated path");
    const status = statuses[i];
    if (!status) {
      notes.push("a certificate names no OCSP responder: its status is unknown");
      continue;
    }
    const verdict = judge(status, genTime);
    if (!verdict.valid) throw new Error(`TSA certificate revoked: ${verdict.detail}`);
    notes.push(verdict.detail);
  }
  return notes.length ? "revocation at genTime: " + notes.join("; ") : "";
}
