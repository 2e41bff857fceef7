/** What the bundle checks share: the files, the trust given, the run of checks and what they found. */
import type { BundleFiles } from "./bundle.js";
import type { Outcome, Run } from "./report.js";
import type { Trust } from "./trust.js";

export const CLOCK_SKEW_MS = 5000;
export const SERVICE_SITE = "promptstamp";

export interface BatchState {
  root: Uint8Array | null;
  size: number;
  state: "stamped" | "untrusted" | "unstamped" | "failed";
  times: [string, Date][];
}

export interface Step {
  id: string;
  type: string;
  seq: number;
  prev: string | null;
  digest: string;
  device: string | null;
  site: string;
  sessionId: string;
  capturedAt: string;
  account: string;
  deviceSigned: boolean;
}

export class Ctx {
  readonly restsOn: string[] = [];
  readonly keys = new Map<string, Uint8Array>();
  readonly deviceKeys = new Map<string, Uint8Array>();
  readonly batches = new Map<string, BatchState>();
  readonly records = new Map<string, Step>();
  readonly usedBlobs = new Set<string>();
  readonly usedBatches = new Set<string>();
  readonly usedKeys = new Set<string>();
  readonly usedDeviceKeys = new Set<string>();
  readonly tokenCache = new Map<string, Promise<TokenResult>>();
  chainCerts: Uint8Array[] | null = null;

  constructor(readonly files: BundleFiles, readonly trust: Trust, readonly run: Run) {}
}

export interface TokenResult {
  outcome: Outcome;
  detail: string;
  rests: string[];
  genTime: Date | null;
}

