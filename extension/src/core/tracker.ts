/**
 * Turns a site's conversation tree into the steps of the creative process, each recorded once.
 *
 * - A new user message is a `prompt`, or an `edit` when its known parent (the site's root sentinel
 *   or ROOT_PARENT included) already has another user reply: a new branch from an earlier prompt,
 *   the first prompt included. Unknown parents (undefined) are never siblings. The site's own
 *   `Msg.act` overrides what the tree shape suggests.
 * - A new complete AI message is an `output`; when its parent already had an AI reply, a
 *   `regenerate` step (the user's act) precedes it.
 * - A `parameters` step precedes a prompt, or an answer (a retry can change the model without a new
 *   prompt), whose chosen settings differ from the session's last recorded ones.
 * - A later sighting of a recorded message that adds something (see sighting.ts) is a new record of
 *   the same type naming the earlier one in `refs.supersedes`; nothing is re-recorded otherwise.
 * - When the site's active leaf (`Snapshot.currentId`) moves to an answer other than the newest one
 *   just recorded, the user chose it: a `selection` step.
 * - A stopped answer is recorded as it stands, its output marked `params.stopped: true` (params of an
 *   output are facts about the output, beside `model`).
 * Incomplete messages are left for a later snapshot: a half-streamed answer is never recorded.
 */
import type { Msg, SiteIdentity, Snapshot } from "../adapters/types.ts";
import { canonicalText } from "./jcs.ts";
import { compact, refsOf, type Draft, type RecordType, type SessionRef } from "./record.ts";
import { additions, sighting, type SeenMessage } from "./sighting.ts";
import { UlidFactory } from "./ulid.ts";

export type { SeenMessage } from "./sighting.ts";

/** What the device remembers about a session besides its chain head. */
export interface SessionMemory {
  messages: { [id: string]: SeenMessage };
  /** Canonical text of the last recorded parameters. */
  params?: string;
  /** The site's active leaf as last seen. */
  currentId?: string;
  /** The newest answer recorded, until the user selects another: moving the leaf there is no choice. */
  lastOutput?: string;
  /** The site account last recorded for this session (its user id). */
  identity?: string;
}

export function emptyMemory(): SessionMemory {
  return { messages: {} };
}

/** Makes record ids: drafts carry theirs, so later records (supersedes, selection) can name them. */
export type IdMaker = () => string;

const defaultUlids = new UlidFactory();
const defaultIds: IdMaker = () => defaultUlids.next(Date.now());

function ordered(messages: Msg[], memory: SessionMemory): Msg[] {
  // Parents before children, otherwise in the adapter's order.
  const present = new Set(messages.map((m) => m.id));
  const placed = new Set<string>();
  const out: Msg[] = [];
  let pending = messages;
  while (pending.length) {
    const next: Msg[] = [];
    for (const m of pending) {
      const p = m.parentId;
      if (p === undefined || !present.has(p) || placed.has(p) || memory.messages[p]) {
        out.push(m);
        placed.add(m.id);
      } else next.push(m);
    }
    if (next.length === pending.length) return out.concat(next); // a cycle: keep the adapter's order
    pending = next;
  }
  return out;
}

function siblingsOf(memory: SessionMemory, m: Msg): string[] {
  // An unknown parent is no parent: two messages whose parents are unknown are not siblings.
  if (m.parentId === undefined) return [];
  return Object.entries(memory.messages)
    .filter(([id, s]) => id !== m.id && s.role === m.role && s.parentId === m.parentId)
    .map(([id]) => id);
}

/** The draft of one diff, with the session it belongs to and the id its record will carry. */
class Steps {
  readonly drafts: Draft[] = [];
  constructor(readonly session: SessionRef, readonly adapter: string, readonly mem: SessionMemory, readonly ids: IdMaker) {}

  add(draft: Omit<Draft, "session" | "adapter" | "id">): string {
    const id = this.ids();
    this.drafts.push(compact({ ...draft, session: this.session, adapter: this.adapter, id }) as Draft);
    return id;
  }

  /** A parameters step when the chosen settings differ from the last recorded ones. */
  parameters(m: Msg): void {
    if (!m.params) return;
    const text = canonicalText(m.params);
    if (text === this.mem.params) return;
    this.add({ type: "parameters", actor: "user", params: m.params, refs: { message_id: m.id } });
    this.mem.params = text;
  }
}

function messageRefs(m: Msg, extra: { [key: string]: string | undefined } = {}): { [key: string]: string } {
  return refsOf({ message_id: m.id, parent_message_id: m.parentId, created_at: m.createdAt, ...m.refs, ...extra });
}

function outputParams(m: Msg): Draft["params"] {
  if (!m.stopped) return m.meta;
  return { ...m.meta, stopped: true };
}

function recordUser(steps: Steps, m: Msg): void {
  steps.parameters(m);
  const earlier = siblingsOf(steps.mem, m);
  const type: RecordType = m.act ?? (earlier.length > 0 ? "edit" : "prompt");
  const edited = type === "edit" ? earlier[earlier.length - 1] : undefined;
  const id = steps.add({
    type, actor: "user", text: m.text, messageId: m.id, images: m.images, awaits: m.awaits,
    refs: messageRefs(m, { edited_message_id: edited }),
  });
  steps.mem.messages[m.id] = sighting(m, type, id);
}

function recordAi(steps: Steps, m: Msg): void {
  steps.parameters(m);
  const earlier = siblingsOf(steps.mem, m);
  if (earlier.length > 0) {
    steps.add({
      type: "regenerate", actor: "user",
      refs: refsOf({ message_id: m.id, parent_message_id: m.parentId, replaced_message_id: earlier[earlier.length - 1] }),
    });
  }
  const id = steps.add({
    type: "output", actor: "ai", text: m.text, params: outputParams(m), messageId: m.id, refs: messageRefs(m), images: m.images,
  });
  steps.mem.messages[m.id] = sighting(m, "output", id);
  steps.mem.lastOutput = m.id;
}

function supersede(steps: Steps, m: Msg, seen: SeenMessage): void {
  const added = additions(seen, m);
  if (!added || !seen.recordId || !seen.type) return;
  const type = seen.type;
  const id = steps.add({
    type, actor: m.role === "ai" ? "ai" : "user", text: m.text, messageId: m.id, images: m.images,
    params: m.role === "ai" ? outputParams(m) : undefined,
    refs: messageRefs(m, { supersedes: seen.recordId, supersedes_adds: added.join(", ") }),
  });
  // Keep what the earlier sighting knew and this one does not (a parent, a model): the memory is of
  // everything recorded about the message.
  const now = sighting(m, type, id);
  steps.mem.messages[m.id] = compact({
    ...now, parentId: now.parentId ?? seen.parentId, model: now.model ?? seen.model,
    images: Math.max(now.images ?? 0, seen.images ?? 0) || undefined,
    stopped: m.stopped === false ? undefined : now.stopped ?? seen.stopped,
  });
}

/** The user moved the site's active leaf to an answer that is not simply the newest one. */
function selection(steps: Steps, snap: Snapshot): void {
  const mem = steps.mem;
  const currentId = snap.currentId;
  if (currentId === undefined || currentId === mem.currentId) return;
  // A whole tree without the leaf already known is an older copy of the tree (types.ts, treeIds).
  if (snap.treeIds && mem.currentId !== undefined && !snap.treeIds.includes(mem.currentId)) return;
  const first = mem.currentId === undefined;
  const seen = mem.messages[currentId];
  if (!seen) return; // not recorded (yet): judged again on the next snapshot
  mem.currentId = currentId;
  // The first leaf seen is where the page opened, not a choice; a user message is a turn under way.
  if (first || seen.role !== "ai" || !seen.recordId || currentId === mem.lastOutput) return;
  steps.add({
    type: "selection", actor: "user",
    refs: refsOf({ message_id: currentId, selected_record: seen.recordId, how: "active branch on the site" }),
  });
  mem.lastOutput = undefined; // the newest answer is no longer the default: choosing it again is a choice
}

/** An identity step when the site account differs from the one last recorded for the session. */
function identityStep(steps: Steps, identity: SiteIdentity | undefined): void {
  if (!identity || identity.id === steps.mem.identity) return;
  steps.add({
    type: "identity", actor: "user",
    params: refsOf({ site_user_id: identity.id, name: identity.name, email: identity.email, source: identity.source }),
  });
  steps.mem.identity = identity.id;
}

export interface DiffOptions {
  /** Who is signed in to the site, when known. */
  identity?: SiteIdentity;
  ids?: IdMaker;
}

export function diffSnapshot(
  site: string, adapter: string, snap: Snapshot, memory: SessionMemory, options: DiffOptions = {},
): { drafts: Draft[]; memory: SessionMemory } {
  const mem: SessionMemory = { ...memory, messages: { ...memory.messages } };
  const session: SessionRef = compact({ site, id: snap.sessionId, url: snap.url, title: snap.title });
  const steps = new Steps(session, adapter, mem, options.ids ?? defaultIds);
  identityStep(steps, options.identity);
  for (const m of ordered(snap.messages, mem)) {
    if (!m.complete) continue;
    const seen = mem.messages[m.id];
    if (seen) supersede(steps, m, seen);
    else if (m.role === "user") recordUser(steps, m);
    else recordAi(steps, m);
  }
  selection(steps, snap);
  return { drafts: steps.drafts, memory: mem };
}

/** A step for a session that does not come from the site's tree (identity alone). */
export function identityDraft(
  session: SessionRef, adapter: string, identity: SiteIdentity, memory: SessionMemory, ids: IdMaker = defaultIds,
): { drafts: Draft[]; memory: SessionMemory } {
  const mem: SessionMemory = { ...memory, messages: { ...memory.messages } };
  const steps = new Steps(session, adapter, mem, ids);
  identityStep(steps, identity);
  return { drafts: steps.drafts, memory: mem };
}
