/**
 * What pairing says and shows: a failed pairing in words a first-time user can act on, the account
 * the service names as the token's owner, and the state of this device's queue.
 */
import type { PairingState } from "../core/messages.ts";
import { Api, ApiError, Unreachable } from "./api.ts";
import { countByIndex } from "./db.ts";
import { loadSettings, loadStatus, updateStatus } from "./settings.ts";

/** A pairing failure, worded for the person at the options page (the host is the one they typed). */
export function explainPairError(e: unknown, host: string): string {
  if (e instanceof Unreachable) {
    return `Cannot reach ${host}. Check the address, and that the PromptStamp service is running and reachable from this computer.`;
  }
  if (e instanceof ApiError) {
    if (e.status === 401) {
      return `${host} did not accept this token: it may have been revoked, or belong to another service. Ask whoever runs the service for a new token (on the service: promptstamp accounts tokens rotate) and paste it here.`;
    }
    // Anything that is not the service's own JSON error: another web site is answering at that address.
    if (e.status === 404 || e.status === 405 || e.code.startsWith("http_") || e.code === "bad_response") {
      return `${host} answered, but it is not a PromptStamp service. Check the address (and its port).`;
    }
    if (e.status >= 500) return `${host} had a problem answering (${e.detail}). Try again in a minute.`;
    return `${host} refused the pairing: ${e.detail}`;
  }
  return `Pairing failed: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Ask the service whose token this is. The device is registered by now, so a failure here does not
 * undo the pairing: the name is then just not shown (a service too old to have GET /v1/account).
 */
export async function learnAccount(api: Api): Promise<void> {
  try {
    const account = await api.account();
    await updateStatus({ accountId: account.id, accountName: account.name });
  } catch {
    await forgetAccount();
  }
}

export async function forgetAccount(): Promise<void> {
  await updateStatus({ accountId: undefined, accountName: undefined });
}

/** Asked at most once per background lifetime for a device paired before the service named accounts. */
let askedForName = false;

/** Which service and account this device is paired with, and where its records stand. */
export async function pairingState(): Promise<PairingState> {
  const settings = await loadSettings();
  const status = await loadStatus();
  const paired = Boolean(status.registeredKey && settings.token && settings.serverUrl);
  if (paired && !status.accountName && !askedForName) {
    askedForName = true;
    void learnAccount(new Api(settings.serverUrl, settings.token)); // shown on the next refresh
  }
  let service: string | undefined;
  try {
    service = settings.serverUrl ? new URL(settings.serverUrl).host : undefined;
  } catch {
    service = undefined;
  }
  const queue = {
    queued: await countByIndex("outbox", "state", "queued"),
    pending: await countByIndex("outbox", "state", "pending"),
    stamped: await countByIndex("outbox", "state", "stamped"),
    rejected: await countByIndex("outbox", "state", "rejected"),
  };
  return {
    paired, serverUrl: settings.serverUrl, service, tokenRefused: paired && status.tokenRefused === true, accountName: status.accountName, accountId: status.accountId,
    queue, lastUploadAt: status.lastUploadAt, lastError: status.lastError,
  };
}
