/** The session chain on the device: seq and prev (DESIGN.md, "Precise rules"). */
import { canonicalize } from "./jcs.ts";
import { digestBytes, toBase64 } from "./digest.ts";
import { APP, compact, type Attachment, type Draft, type Envelope, type StampRecord } from "./record.ts";
import { formatTime } from "./time.ts";
import type { UlidFactory } from "./ulid.ts";

export interface ChainHead {
  seq: number;
  /** Digest of the last record of the session on this device, or null before the first. */
  last: string | null;
}

export interface Signer {
  keyId: string;
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

export interface SealContext {
  now(): number;
  ulids: UlidFactory;
  signer?: Signer;
}

export interface Sealed {
  envelope: Envelope;
  digest: string;
  head: ChainHead;
}

/** Fill in id, seq, prev, captured_at and client; sign the RFC 8785 bytes with the device key. */
export async function seal(draft: Draft, attachments: Attachment[], head: ChainHead, ctx: SealContext): Promise<Sealed> {
  const ms = ctx.now();
  const all = [...(draft.attachments ?? []), ...attachments];
  const record: StampRecord = compact({
    v: 1,
    id: draft.id ?? ctx.ulids.next(ms),
    type: draft.type,
    session: draft.session,
    seq: head.seq + 1,
    prev: head.last,
    captured_at: formatTime(ms),
    actor: draft.actor,
    text: draft.text,
    params: draft.params,
    refs: draft.refs,
    attachments: all.length ? all : undefined,
    client: compact({ app: APP, adapter: draft.adapter, device: ctx.signer?.keyId }),
  } satisfies StampRecord);
  const bytes = canonicalize(record);
  const digest = await digestBytes(bytes);
  const envelope: Envelope = { record };
  if (ctx.signer) {
    envelope.device_sig = { key: ctx.signer.keyId, sig: toBase64(await ctx.signer.sign(bytes)) };
  }
  return { envelope, digest, head: { seq: record.seq, last: digest } };
}
