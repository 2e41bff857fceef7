/** Every message between the extension's parts, as one discriminated union (no stringly-typed bags). */
import type { DomHealth, DriftCode, Observation } from "../adapters/types.ts";
import type { SiteId } from "./record.ts";

export interface Settings {
  serverUrl: string;
  token: string;
  deviceName: string;
  paused: boolean;
  sites: { [site: string]: boolean };
}

export interface OutputChoice {
  recordId: string;
  messageId?: string;
  excerpt: string;
  capturedAt: string;
  images: { digest: string; mediaType: string; bytes: number }[];
}

/** A capture gap noticed on a tab (drift code, what and where in words, when). */
export interface CaptureGap {
  code: DriftCode;
  text: string;
  at: string;
  /** The drift record that evidences it, when the tab showed a conversation to record it in. */
  recordId?: string;
}

export interface TabStatus {
  site?: SiteId;
  siteName?: string;
  adapter?: string;
  enabled: boolean;
  paused: boolean;
  paired: boolean;
  serverUrl: string;
  sessionId?: string;
  title?: string;
  health: "ok" | "idle" | "drift";
  healthReason?: string;
  counts: { stamped: number; pending: number; queued: number; rejected: number };
  totalQueued: number;
  lastError?: string;
  lastUploadAt?: string;
  outputs: OutputChoice[];
  gaps: CaptureGap[];
}

/** Which service and account the device is paired with, and where its records stand (all sessions). */
export interface PairingState {
  paired: boolean;
  serverUrl: string;
  /** Host and port of the service, as the user would recognize it. */
  service?: string;
  /** The account's name as the service tells it (GET /v1/account). */
  accountName?: string;
  accountId?: string;
  /** Paired, but the service stopped accepting the token (revoked since): uploads wait for a new one. */
  tokenRefused: boolean;
  queue: { queued: number; pending: number; stamped: number; rejected: number };
  lastUploadAt?: string;
  lastError?: string;
}

export type Request =
  | { kind: "observe"; site: SiteId; pageUrl: string; observations: Observation[]; headers: { [name: string]: string } }
  | { kind: "health"; site: SiteId; pageUrl: string; health: DomHealth }
  | { kind: "siteEnabled"; site: SiteId }
  | { kind: "tabStatus"; tabId: number }
  | { kind: "markChosen"; tabId: number; recordId: string; imageIndex?: number }
  | { kind: "addNote"; tabId: number; text: string }
  | { kind: "flush" }
  | { kind: "pair"; serverUrl: string; token: string; deviceName: string }
  | { kind: "unpair" }
  | { kind: "getSettings" }
  | { kind: "saveSettings"; paused?: boolean; sites?: { [site: string]: boolean } }
  | { kind: "deviceInfo" }
  | { kind: "pairingState" };

export interface Reply {
  ok: boolean;
  error?: string;
}

export interface ResponseFor {
  observe: Reply;
  health: Reply;
  siteEnabled: { enabled: boolean };
  tabStatus: TabStatus;
  markChosen: Reply;
  addNote: Reply;
  flush: Reply;
  pair: Reply & { keyId?: string };
  unpair: Reply;
  getSettings: Settings;
  saveSettings: Reply;
  deviceInfo: { keyId: string; publicKey: string; registered: boolean };
  pairingState: PairingState;
}

/** The WebExtension API object: `browser` in Firefox, `chrome` in Chromium (both promise-based in MV3). */
export const ext: typeof chrome = (globalThis as { browser?: typeof chrome }).browser ?? chrome;

export async function send<K extends Request["kind"]>(
  msg: Extract<Request, { kind: K }>,
): Promise<ResponseFor[K]> {
  return (await ext.runtime.sendMessage(msg)) as ResponseFor[K];
}
