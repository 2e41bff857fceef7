/** The PromptStamp service's JSON API (v1), as documented for the server. */
import { toBase64 } from "../core/digest.ts";
import type { Envelope } from "../core/record.ts";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly index?: number,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** The server could not be reached at all (network down, server stopped). */
export class Unreachable extends Error {
  override name = "Unreachable";
}

export interface RecordResult {
  record_id: string;
  status: "stamped" | "pending";
  receipt?: unknown;
}

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call(method: string, path: string, body?: BodyInit, contentType?: string): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (contentType) headers["Content-Type"] = contentType;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl).href, { method, headers, body, credentials: "omit" });
    } catch (e) {
      throw new Unreachable(`cannot reach ${new URL(this.baseUrl).host} (${e instanceof Error ? e.message : String(e)})`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 400) {
      const err = (json ?? {}) as { error?: unknown; detail?: unknown; index?: unknown };
      throw new ApiError(
        res.status,
        typeof err.error === "string" ? err.error : `http_${res.status}`,
        typeof err.detail === "string" ? err.detail : text.slice(0, 200) || res.statusText,
        typeof err.index === "number" ? err.index : undefined,
      );
    }
    return { status: res.status, json };
  }

  async health(): Promise<void> {
    await this.call("GET", "/healthz");
  }

  /**
   * Pairing proves possession (docs/format.md, "Pairing record"): the service issues a challenge that
   * names the token's account, the device key signs it, and the service registers the key only if the
   * signature holds. So nobody can register a key they do not hold, nor move a pairing to another account.
   */
  async registerDevice(publicKey: string, name: string, sign: (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>): Promise<string> {
    const { json: issued } = await this.call("POST", "/v1/devices/challenge");
    const c = (issued ?? {}) as { challenge?: unknown; service_key?: unknown; service_sig?: unknown };
    if (typeof c.challenge !== "string" || typeof c.service_key !== "string" || typeof c.service_sig !== "string") {
      throw new ApiError(200, "bad_response", "the server did not answer a pairing challenge");
    }
    const challengeSig = toBase64(await sign(new TextEncoder().encode(c.challenge)));
    const body = { public_key: publicKey, name, challenge: c.challenge, challenge_sig: challengeSig,
      service_key: c.service_key, service_sig: c.service_sig };
    const { json } = await this.call("POST", "/v1/devices", JSON.stringify(body), "application/json");
    const key = (json as { key?: unknown } | undefined)?.key;
    if (typeof key !== "string") throw new ApiError(200, "bad_response", "the server did not answer a device key id");
    return key;
  }

  /** The token's account (GET /v1/account). */
  async account(): Promise<{ id: string; name: string }> {
    const { json } = await this.call("GET", "/v1/account");
    const body = (json ?? {}) as { id?: unknown; name?: unknown };
    if (typeof body.id !== "string" || typeof body.name !== "string") {
      throw new ApiError(200, "bad_response", "the server did not answer an account id and name");
    }
    return { id: body.id, name: body.name };
  }

  async putBlob(digest: string, bytes: ArrayBuffer, mediaType: string): Promise<void> {
    await this.call("PUT", `/v1/blobs/${digest}`, bytes, mediaType);
  }

  async postRecords(envelopes: Envelope[]): Promise<RecordResult[]> {
    const { json } = await this.call("POST", "/v1/records", JSON.stringify(envelopes), "application/json");
    const results = (json as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results)) throw new ApiError(200, "bad_response", "the server's answer has no results array");
    return results as RecordResult[];
  }

  async getRecord(id: string): Promise<{ status?: string; receipt?: unknown }> {
    const { json } = await this.call("GET", `/v1/records/${id}`);
    return (json ?? {}) as { status?: string; receipt?: unknown };
  }
}
