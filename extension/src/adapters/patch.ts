/**
 * The `{p, o, v}` patch frames DeepSeek streams (live-traffic-2026.md §2.4): `p` a slash path under
 * the streamed object (an index `-1` is the last element), `o` one of APPEND / SET / BATCH, `v` the
 * value. A frame without `p` continues the last frame's path and op (the sticky position, as in the
 * same grammar's ChatGPT form, §2.1); a BATCH applies sub-frames under its own path and leaves the
 * sticky position alone.
 */
import { isObj, type Obj } from "./util.ts";

export interface PatchCursor {
  path?: string;
  op?: string;
}

function step(container: unknown, key: string): { holder: Obj | unknown[]; slot: string | number } | undefined {
  if (Array.isArray(container)) {
    const i = key === "-1" ? container.length - 1 : Number(key);
    return Number.isInteger(i) && i >= 0 && i < container.length ? { holder: container, slot: i } : undefined;
  }
  return isObj(container) ? { holder: container, slot: key } : undefined;
}

function read(holder: Obj | unknown[], slot: string | number): unknown {
  return Array.isArray(holder) ? holder[slot as number] : holder[slot as string];
}

function write(holder: Obj | unknown[], slot: string | number, value: unknown): void {
  if (Array.isArray(holder)) holder[slot as number] = value;
  else holder[slot as string] = value;
}

/** Apply one operation at `path` under `root`; answers whether the path was understood. */
export function applyPatch(root: Obj, path: string, op: string, value: unknown): boolean {
  const keys = path.split("/").filter((k) => k !== "");
  if (op === "BATCH") {
    if (!Array.isArray(value)) return false;
    let ok = true;
    for (const sub of value) {
      if (!isObj(sub) || typeof sub.p !== "string") return false;
      const subOp = typeof sub.o === "string" ? sub.o : "SET";
      ok = applyPatch(root, [...keys, sub.p].join("/"), subOp, sub.v) && ok;
    }
    return ok;
  }
  if (!keys.length) {
    if (!isObj(value)) return false;
    Object.assign(root, value);
    return true;
  }
  let container: unknown = root;
  for (const key of keys.slice(0, -1)) {
    const at = step(container, key);
    if (!at) return false;
    container = read(at.holder, at.slot);
  }
  const last = step(container, keys[keys.length - 1] as string);
  if (!last) return false;
  const current = read(last.holder, last.slot);
  if (op === "APPEND") {
    if (Array.isArray(current)) current.push(...(Array.isArray(value) ? value : [value]));
    else if (typeof current === "string" && typeof value === "string") write(last.holder, last.slot, current + value);
    else if (current === undefined || current === null) write(last.holder, last.slot, value);
    else return false;
    return true;
  }
  if (op === "SET") {
    write(last.holder, last.slot, value);
    return true;
  }
  return false;
}

/** Apply one frame with the sticky path and op; answers whether the frame was understood. */
export function applyFrame(root: Obj, frame: Obj, cursor: PatchCursor): boolean {
  if (!("v" in frame)) return false;
  const explicitPath = typeof frame.p === "string" ? frame.p : undefined;
  const explicitOp = typeof frame.o === "string" ? frame.o : undefined;
  if (explicitPath === undefined && explicitOp === undefined && isObj(frame.v) && cursor.path === undefined) {
    return applyPatch(root, "", "SET", frame.v); // the opening snapshot
  }
  const path = explicitPath ?? cursor.path ?? "";
  const op = explicitOp ?? (explicitPath === undefined ? cursor.op ?? "APPEND" : "SET");
  const ok = applyPatch(root, path, op, frame.v);
  if (op !== "BATCH") {
    cursor.path = path;
    cursor.op = op;
  }
  return ok;
}
