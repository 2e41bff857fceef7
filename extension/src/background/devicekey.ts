/**
 * The device key: Ed25519 made with WebCrypto, the private half non-extractable, kept in IndexedDB
 * (a CryptoKey survives structured cloning without ever exposing its bytes). Key id = first 16 hex
 * of SHA-256 over the raw 32-byte public key (DESIGN.md, "Keys").
 */
import type { Signer } from "../core/chain.ts";
import { sha256Hex, toBase64 } from "../core/digest.ts";
import { get, put, type DeviceItem } from "./db.ts";

let cached: Promise<DeviceItem> | undefined;

async function create(): Promise<DeviceItem> {
  const keyPair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
  const item: DeviceItem = { name: "device", keyPair, keyId: (await sha256Hex(raw)).slice(0, 16), publicKey: toBase64(raw) };
  await put("device", item);
  return item;
}

export function deviceKey(): Promise<DeviceItem> {
  cached ??= (async () => (await get<DeviceItem>("device", "device")) ?? create())();
  cached.catch(() => (cached = undefined));
  return cached;
}

export async function deviceSigner(): Promise<Signer> {
  const item = await deviceKey();
  return {
    keyId: item.keyId,
    async sign(data) {
      return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, item.keyPair.privateKey, data));
    },
  };
}
