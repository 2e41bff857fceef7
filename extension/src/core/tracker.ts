/**
 * Turns a site's conversation tree into the steps of the creative process, each recorded once.
 *
 * A new user message is a `prompt`, or an `edit` when its parent already has another user reply
 * (a new branch from an earlier prompt). A new complete AI message is an `output`; when its parent
 * already had an AI reply, a `regenerate` step (the user's act) precedes it. A `parameters` step
 * precedes a prompt whose chosen settings differ from the session's last ones. Incomplete messages
 * are left for a later snapshot: a half-streamed answer is never recorded.
 */
import type { Msg, Snapshot } from "../adapters/types.ts";
import { canonicalText } from "./jcs.ts";
import { compact, refsOf, type Draft, type SessionRef } from "./record.ts";

export interface SeenMessage {
  role: "user" | "ai";
  parentId?: string;
}

/** What the device remembers about a session besides its chain head. */
export interface SessionMemory {
  messages: { [id: string]: SeenMessage };
  /** Canonical text of the last recorded parameters. */
  params?: string;
}

export function emptyMemory(): SessionMemory {
  return { messages: {} };
}

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

function siblingsOf(memory: SessionMemory, parentId: string | undefined, role: "user" | "ai"): string[] {
  return Object.entries(memory.messages)
    .filter(([, m]) => m.role === role && m.parentId === parentId)
    .map(([id]) => id);
}

export function diffSnapshot(
  site: string, adapter: string, snap: Snapshot, memory: SessionMemory,
): { drafts: Draft[]; memory: SessionMemory } {
  const mem: SessionMemory = { messages: { ...memory.messages }, params: memory.params };
  const session: SessionRef = compact({ site, id: snap.sessionId, url: snap.url, title: snap.title });
  const drafts: Draft[] = [];
  for (const m of ordered(snap.messages, mem)) {
    if (mem.messages[m.id] || !m.complete) continue;
    const refs = refsOf({ message_id: m.id, parent_message_id: m.parentId, created_at: m.createdAt, ...m.refs });
    if (m.role === "user") {
      if (m.params) {
        const text = canonicalText(m.params);
        if (text !== mem.params) {
          drafts.push({ type: "parameters", actor: "user", session, params: m.params, adapter,
            refs: { message_id: m.id } });
          mem.params = text;
        }
      }
      // An edit needs a known parent: two first prompts of one session are not edits of each other.
      const earlier = m.parentId === undefined ? [] : siblingsOf(mem, m.parentId, "user");
      const edit = earlier.length > 0;
      drafts.push(compact({
        type: edit ? "edit" : "prompt", actor: "user", session, text: m.text, adapter, messageId: m.id,
        refs: refsOf({ ...refs, edited_message_id: edit ? earlier[earlier.length - 1] : undefined }),
        images: m.images,
      } satisfies Draft));
    } else {
      const earlier = siblingsOf(mem, m.parentId, "ai");
      if (earlier.length > 0) {
        drafts.push(compact({
          type: "regenerate", actor: "user", session, adapter,
          refs: refsOf({ message_id: m.id, parent_message_id: m.parentId,
            replaced_message_id: earlier[earlier.length - 1] }),
        } satisfies Draft));
      }
      drafts.push(compact({
        type: "output", actor: "ai", session, text: m.text, params: m.meta, adapter, messageId: m.id,
        refs, images: m.images,
      } satisfies Draft));
    }
    mem.messages[m.id] = compact({ role: m.role, parentId: m.parentId });
  }
  return { drafts, memory: mem };
}
