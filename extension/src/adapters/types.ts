/** The adapter interface: every site's capture logic sits behind it (STYLE.md habit 13). */
import type { Json } from "../core/jcs.ts";
import type { ImageRef, SiteId } from "../core/record.ts";

/** One HTTP exchange the page made itself, as the MAIN-world hook saw it (read from clones). */
export interface Exchange {
  url: string;
  method: string;
  status: number;
  requestBody?: string;
  responseText: string;
  contentType?: string;
}

/** One message of a site's conversation tree, normalized. */
export interface Msg {
  id: string;
  parentId?: string;
  role: "user" | "ai";
  text?: string;
  /** Only complete messages are recorded: never a half-streamed answer. */
  complete: boolean;
  /** When the site says the message was made (RFC 3339), kept as a reference. */
  createdAt?: string;
  /** For user messages: the settings the user chose (model, image settings). */
  params?: { [key: string]: Json };
  /** For outputs: facts about the output (model, seed, generation ids). */
  meta?: { [key: string]: Json };
  images?: ImageRef[];
  /** Extra site ids (job id, …) for refs. */
  refs?: { [key: string]: string };
}

export interface Snapshot {
  sessionId: string;
  url?: string;
  title?: string;
  messages: Msg[];
}

export type Observation =
  | { kind: "snapshot"; snapshot: Snapshot }
  /** The exchange matched a conversation endpoint but its shape is not what the adapter knows. */
  | { kind: "drift"; reason: string }
  /** A turn finished: fetch the conversation again (active reconciliation). */
  | { kind: "reconcile"; url: string };

export interface DomHealth {
  state: "ok" | "idle" | "drift";
  reason?: string;
}

export interface SiteAdapter {
  readonly id: SiteId;
  readonly version: number;
  readonly name: string;
  /** Host names the adapter runs on; the manifest's matches and host permissions come from these. */
  readonly hosts: readonly string[];
  /** Hosts serving generated images, fetched by the background (narrow host permissions). */
  readonly imageHosts: readonly string[];
  /** Which of the page's requests the hook passes on (matched against the full URL). */
  readonly capture: readonly RegExp[];
  /** Request headers the page sends its own API that reconciliation and image fetches need. */
  readonly authHeaders?: readonly string[];
  /** The conversation id shown in the address bar, or null off a conversation page. */
  sessionFromUrl(url: URL): string | null;
  /** Turn one exchange into observations; throw nothing, report drift instead. */
  parse(ex: Exchange): Observation[];
  /** Check the page's DOM: the fallback signal and drift canary. */
  probeDom(doc: Document, url: URL): DomHealth;
}

export function adapterTag(a: SiteAdapter): string {
  return `${a.id}@${a.version}`;
}
