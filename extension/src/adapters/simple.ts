/** Helpers for sites whose conversation endpoint answers a flat list of messages. */
import type { Msg } from "./types.ts";

/** Chain messages that carry no parent id: each message's parent is the one before it. */
export function chainInOrder(messages: Msg[]): Msg[] {
  let prev: string | undefined;
  return messages.map((m) => {
    const out = m.parentId === undefined && prev !== undefined ? { ...m, parentId: prev } : m;
    prev = m.id;
    return out;
  });
}
