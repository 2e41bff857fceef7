/**
 * Pairing input, checked before anything is asked of the browser or sent anywhere: a first-time user
 * gets a message naming the field and what to change, never a server error for a typo.
 */

/** The service issues `ps_` + 43 base64url characters (32 random bytes); see server accounts.py. */
export const TOKEN_PREFIX = "ps_";
export const TOKEN_BODY_LENGTH = 43;
const TOKEN_BODY = /^[A-Za-z0-9_-]*$/;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A host that is this computer: plain http is fine there (nothing crosses a network). */
export function isThisComputer(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export interface ServiceAddress {
  /** Scheme, host, port and path, without a trailing slash: what the extension stores and calls. */
  url: string;
  /** What the user sees: host and port. */
  host: string;
  /** The optional host permission to ask for: a match pattern names no port (Firefox rejects one that does). */
  permission: string;
}

/**
 * The service's address as typed. A bare host gets https:// (http:// on this computer), as a user who
 * typed "stamp.example.org" or "127.0.0.1:8080" would expect.
 */
export function checkServiceUrl(raw: string): Checked<ServiceAddress> {
  const typed = raw.trim();
  if (!typed) return { ok: false, error: "Enter your PromptStamp service's address, like https://stamp.example.org" };
  if (/\s/.test(typed)) return { ok: false, error: "The service address cannot contain spaces: check what was pasted." };
  let text = typed;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const host = text.split(/[/:]/)[0] ?? "";
    text = `${isThisComputer(host) ? "http" : "https"}://${text}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: `"${typed}" is not a web address. It looks like https://stamp.example.org` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, error: `The service address must start with https:// (found ${url.protocol}//).` };
  }
  if (!url.hostname || (!url.hostname.includes(".") && !isThisComputer(url.hostname) && !url.hostname.startsWith("["))) {
    return { ok: false, error: `"${typed}" names no complete host. It looks like https://stamp.example.org` };
  }
  if (url.username || url.password) {
    return { ok: false, error: "Leave the user name and password out of the address: the token is what signs you in." };
  }
  if (url.search || url.hash) {
    return { ok: false, error: "The service address ends at its path: remove the part from ? or # on." };
  }
  return {
    ok: true,
    value: {
      url: url.origin + url.pathname.replace(/\/+$/, ""),
      host: url.host,
      permission: `${url.protocol}//${url.hostname}/*`,
    },
  };
}

/** The API token as pasted; copying from a terminal often adds spaces or cuts it short. */
export function checkToken(raw: string): Checked<string> {
  const token = raw.trim();
  if (!token) {
    return { ok: false, error: "Paste your token: the line starting with ps_ that was shown when your account was created." };
  }
  if (/\s/.test(token)) return { ok: false, error: "The token contains a space or line break: paste it again as one piece." };
  if (!token.startsWith(TOKEN_PREFIX)) {
    return { ok: false, error: `A PromptStamp token starts with ${TOKEN_PREFIX}. This one starts with "${token.slice(0, 3)}": check that you pasted the token, not the account id.` };
  }
  const body = token.slice(TOKEN_PREFIX.length);
  if (!TOKEN_BODY.test(body)) {
    return { ok: false, error: "The token has characters a token never has (only letters, digits, - and _ follow ps_): paste it again." };
  }
  if (body.length !== TOKEN_BODY_LENGTH) {
    const how = body.length < TOKEN_BODY_LENGTH ? "too short: part of it was probably not copied" : "too long: something extra was pasted with it";
    return { ok: false, error: `The token is ${how} (ps_ is followed by ${TOKEN_BODY_LENGTH} characters, this one has ${body.length}).` };
  }
  return { ok: true, value: token };
}
