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
  standing: Standing[]; // trusted tokens that hold, for the long-term check
}

/** A token that holds at its genTime, and whether its path still holds at the verification time. */
export interface Standing {
  name: string; // the token's file in the bundle
  genTime: Date;
  expires: Date | null; // first notAfter on its path below the anchor
  validAt: boolean; // the path is valid at the verification time (Trust.at, default now)
  signer: string;
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
  readonly trustedKeys = new Map<string, boolean>(); // service key id -> whether the visitor trusts it (check 4)
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
  standing: Omit<Standing, "name"> | null;
}

