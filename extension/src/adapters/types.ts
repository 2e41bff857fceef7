/** The adapter interface: every site's capture logic sits behind it (STYLE.md habit 13). */
import type { Json } from "../core/jcs.ts";
import type { ImageRef, SiteId } from "../core/record.ts";

/**
 * One HTTP exchange the page made itself, as the MAIN-world hook saw it (read from clones), or one
 * WebSocket frame the page received: then `method` is "WS", `status` 101, `url` the socket's URL and
 * `responseText` the frame's text.
 */
export interface Exchange {
  url: string;
  method: string;
  status: number;
  requestBody?: string;
  responseText: string;
  contentType?: string;
  /** The request headers named in the adapter's `requestHeaders` (e.g. Gemini's model header), lower-case names. */
  requestHeaders?: { [name: string]: string };
}

/**
 * The parent id of a message that hangs directly under the conversation's root. Sites with an
 * explicit root sentinel (Claude's 00000000-…, ChatGPT's system/root node) keep their own id; sites
 * whose first message has `parent_id: null` (DeepSeek, Qwen, Kimi) use this marker. `parentId`
 * undefined means "not known", which is not the same: two messages with unknown parents are never
 * siblings (live-traffic-2026.md §4.3-4.4).
 */
export const ROOT_PARENT = "(root)";

/** Per-page parser state, for turns that span several exchanges (resume legs, WebSocket frames). */
export type PageState = Map<string, unknown>;

/** One message of a site's conversation tree, normalized. */
export interface Msg {
  id: string;
  /** The site's parent id, ROOT_PARENT (or the site's own root sentinel) under the root, undefined if unknown. */
  parentId?: string;
  role: "user" | "ai";
  text?: string;
  /** Only complete messages are recorded: never a half-streamed answer. */
  complete: boolean;
  /** A finished answer that the user stopped (or the site cut off): recorded as it stands and marked. */
  stopped?: boolean;
  /**
   * The act the site itself names for a user message (request options such as Doubao's `is_regen`,
   * Midjourney's job type, ChatGPT's `action:"variant"`); it overrides what the tree shape suggests.
   */
  act?: "prompt" | "edit" | "regenerate" | "selection";
  /** What a user message waits for: slow kinds get a longer "no answer" alarm. */
  awaits?: "text" | "thinking" | "image" | "video";
  /** When the site says the message was made (RFC 3339), kept as a reference. */
  createdAt?: string;
  /**
   * The settings the user chose (model, modes, image settings): on a user message, for its turn; on
   * an AI message, for the request that produced it (a retry can change the model without a new prompt).
   */
  params?: { [key: string]: Json };
  /**
   * For outputs: facts about the output. `model` is the model that actually answered (ChatGPT's
   * `resolved_model_slug`, never the requested `auto`), with `model_source` naming the field it came from.
   */
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
  /**
   * "stream": a live sighting during the turn, possibly partial; "history": the site's own saved
   * conversation. A fuller later sighting of a recorded message supersedes it (refs.supersedes).
   */
  source?: "stream" | "history";
  /**
   * The message the site shows as the active leaf or chosen draft (ChatGPT `current_node`, Claude
   * `current_leaf_message_uuid`, DeepSeek `current_message_id`, Qwen `currentId`, Gemini's shown `rc_`).
   * A change that is not simply the newest answer is the user's selection.
   */
  currentId?: string;
  /**
   * Every message id of the site's saved tree, text or not, when the snapshot is a whole-tree read. Such a
   * read may be older than what was seen already (an eventually consistent read, or a re-read answered just
   * before a turn was saved and handled just after it): one that lacks the active leaf already known says
   * nothing about the leaf, so its `currentId` cannot make a selection.
   */
  treeIds?: string[];
}

/** The AI site's own account that performed the session, as the site's API names it. */
export interface SiteIdentity {
  /** The site's user id. */
  id: string;
  name?: string;
  email?: string;
  /** The endpoint it came from, e.g. "GET /backend-api/me". */
  source: string;
}

/** Why capture failed, for the drift record, the service's per-site counters and the badge. */
export type DriftCode =
  | "unknown-shape" // a known endpoint answered in a shape the adapter does not know
  | "no-parse" // a stream was seen but nothing in it was understood
  | "no-answer" // a prompt got no recorded answer in time
  | "page-ahead" // the page shows more turns than were recorded
  | "dom"; // the page's markup no longer matches the adapter

export type Observation =
  | { kind: "snapshot"; snapshot: Snapshot }
  /** The exchange matched a conversation endpoint but its shape is not what the adapter knows. */
  | { kind: "drift"; reason: string; code?: DriftCode; sessionId?: string }
  /**
   * A turn finished: read the site's saved conversation again, as the site itself does (some sites
   * read history with a POST body). `delays` (ms, default [0, 8000, 25000]) re-read when an
   * asynchronous result is due (ChatGPT images, Midjourney jobs).
   */
  | { kind: "reconcile"; url: string; method?: "GET" | "POST"; body?: string; delays?: number[] }
  /** Who is signed in to the site. */
  | { kind: "identity"; identity: SiteIdentity };

export interface DomHealth {
  state: "ok" | "idle" | "drift";
  reason?: string;
  /** How many conversation turns (user and AI messages) the page shows, where the adapter can count them. */
  turns?: number;
}

/**
 * How sure we are that a capability works on the live site: "live" (checked against a capture of
 * the live site that a public source dates), "public-capture" (follows a public capture or client of
 * 2025-2026), "documented" (follows older documentation only), "none" (not captured).
 */
export type Confidence = "live" | "public-capture" | "documented" | "none";

/** What an adapter captures, for the README's per-site table (a test keeps the two in step). */
export interface Capabilities {
  liveTurns: Confidence;
  history: Confidence;
  edits: Confidence;
  regenerations: Confidence;
  selection: Confidence;
  model: Confidence;
  images: Confidence;
  identity: Confidence;
}

export interface SiteAdapter {
  readonly id: SiteId;
  readonly version: number;
  readonly name: string;
  /** What this adapter captures and how sure we are (README's capability table). */
  readonly capabilities?: Capabilities;
  /** Host names the adapter runs on; the manifest's matches and host permissions come from these. */
  readonly hosts: readonly string[];
  /** Hosts serving generated images, fetched by the background (narrow host permissions). */
  readonly imageHosts: readonly string[];
  /** Which of the page's requests the hook passes on (matched against the full URL). */
  readonly capture: readonly RegExp[];
  /** WebSocket URLs whose incoming frames the hook passes on as "WS" exchanges (ChatGPT's turn socket). */
  readonly captureWs?: readonly RegExp[];
  /** Request headers the page sends its own API that reconciliation and image fetches need. */
  readonly authHeaders?: readonly string[];
  /** Request headers the adapter reads itself (Exchange.requestHeaders), e.g. a model header. */
  readonly requestHeaders?: readonly string[];
  /** How to ask the site who is signed in, if the page's own traffic may not show it (ChatGPT GET /backend-api/me). */
  identityRequest?(origin: string): { url: string; method: "GET" | "POST"; body?: string } | undefined;
  /** The conversation id shown in the address bar, or null off a conversation page. */
  sessionFromUrl(url: URL): string | null;
  /**
   * Turn one exchange into observations; throw nothing, report drift instead. `state` lives as long
   * as the page (one per fixture in tests), for turns spread over several exchanges.
   */
  parse(ex: Exchange, state: PageState): Observation[];
  /** Check the page's DOM: the fallback signal and drift canary. */
  probeDom(doc: Document, url: URL): DomHealth;
}

export function adapterTag(a: SiteAdapter): string {
  return `${a.id}@${a.version}`;
}
