/** Settings and status live in extension storage; only the background writes status. */
import { ext, type Settings } from "../core/messages.ts";
import { SITES } from "../core/record.ts";

export const DEFAULT_SETTINGS: Settings = {
  serverUrl: "",
  token: "",
  deviceName: "",
  paused: false,
  sites: Object.fromEntries(SITES.map((s) => [s, true])),
};

export interface Status {
  lastError?: string;
  lastErrorAt?: string;
  lastUploadAt?: string;
  registeredKey?: string;
  registeredServer?: string;
  /** The paired account, as the service names the token's owner. */
  accountId?: string;
  accountName?: string;
  /** The service answered an upload with 401: the token was revoked after pairing. */
  tokenRefused?: boolean;
}

export async function loadSettings(): Promise<Settings> {
  const got = (await ext.storage.local.get("settings")) as { settings?: Partial<Settings> };
  const s = got.settings ?? {};
  return { ...DEFAULT_SETTINGS, ...s, sites: { ...DEFAULT_SETTINGS.sites, ...(s.sites ?? {}) } };
}

export async function saveSettings(patch: Partial<Settings>): Promise<Settings> {
  const next = { ...(await loadSettings()), ...patch };
  await ext.storage.local.set({ settings: next });
  return next;
}

export async function loadStatus(): Promise<Status> {
  const got = (await ext.storage.local.get("status")) as { status?: Status };
  return got.status ?? {};
}

export async function updateStatus(patch: Partial<Status>): Promise<void> {
  const merged: Status = { ...(await loadStatus()), ...patch };
  const next = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
  await ext.storage.local.set({ status: next });
}

export async function reportError(message: string | undefined): Promise<void> {
  await updateStatus({ lastError: message, lastErrorAt: message ? new Date().toISOString() : undefined });
}
