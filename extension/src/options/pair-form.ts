/**
 * The pairing form: fields checked before anything is asked or sent, the browser's permission prompt
 * explained before it appears, then the pairing itself and its outcome in plain words.
 */
import { ext, send } from "../core/messages.ts";
import { checkServiceUrl, checkToken, type ServiceAddress } from "../core/pairing.ts";
import { byId } from "../ui/dom.ts";

export interface PairForm {
  server: HTMLInputElement;
  token: HTMLInputElement;
  name: HTMLInputElement;
  /** Called after every attempt, so the page can show the new pairing state. */
  after: () => Promise<void>;
}

function say(text: string, kind: "ok" | "error" | "" = ""): void {
  const result = byId("pair-result");
  result.textContent = text;
  result.className = kind;
}

function markInvalid(input: HTMLInputElement | undefined, form: PairForm): void {
  for (const field of [form.server, form.token]) field.setAttribute("aria-invalid", String(field === input));
  input?.focus();
}

export function setUpPairForm(form: PairForm): void {
  const explainer = byId("permission-explainer");
  let waiting: ServiceAddress | undefined;

  const button = byId<HTMLButtonElement>("pair");
  const pair = async (address: ServiceAddress, token: string) => {
    say(`Pairing with ${address.host}…`);
    // One attempt at a time: a second click while the first waits would register twice.
    button.disabled = true;
    const r = await send({ kind: "pair", serverUrl: address.url, token, deviceName: form.name.value.trim() })
      .finally(() => { button.disabled = false; });
    if (r.ok) {
      form.server.value = address.url;
      markInvalid(undefined, form);
      say(`Paired. From now on the steps you take are sent to ${address.host} to be signed and time-stamped (this device's key ${r.keyId ?? ""} is registered there).`, "ok");
    } else {
      say(r.error ?? "Pairing failed for a reason the extension could not tell.", "error");
    }
    await form.after();
  };

  const askPermission = async (address: ServiceAddress) => {
    explainer.hidden = true;
    say(`Waiting for your answer to the browser's question about ${address.host} (it appears near the address bar)…`);
    let granted: boolean;
    try {
      granted = await ext.permissions.request({ origins: [address.permission] });
    } catch (e) {
      say(`The browser could not ask for permission to reach ${address.host}: ${String(e)}`, "error");
      return;
    }
    if (!granted) {
      say(`Not paired: without your permission PromptStamp cannot reach ${address.host}. Press Pair to be asked again.`, "error");
      return;
    }
    await pair(address, form.token.value.trim());
  };

  button.addEventListener("click", async () => {
    explainer.hidden = true;
    const address = checkServiceUrl(form.server.value);
    if (!address.ok) {
      markInvalid(form.server, form);
      say(address.error, "error");
      return;
    }
    const token = checkToken(form.token.value);
    if (!token.ok) {
      markInvalid(form.token, form);
      say(token.error, "error");
      return;
    }
    markInvalid(undefined, form);
    // Ask for the service's origin only now, at use (optional host permission). The prompt is
    // explained first; "Continue" is then the user gesture the browser requires for the request.
    if (!(await ext.permissions.contains({ origins: [address.value.permission] }))) {
      waiting = address.value;
      byId("permission-host").textContent = address.value.host;
      explainer.hidden = false;
      say("");
      byId("permission-continue").focus();
      return;
    }
    await pair(address.value, token.value);
  });
  byId("permission-continue").addEventListener("click", () => {
    if (waiting) void askPermission(waiting);
  });
  byId("permission-cancel").addEventListener("click", () => {
    explainer.hidden = true;
    waiting = undefined;
    say("Not paired. Press Pair when you are ready.");
  });
  // A field marked wrong stops looking wrong once the user starts correcting it.
  for (const field of [form.server, form.token]) {
    field.addEventListener("input", () => field.removeAttribute("aria-invalid"));
  }
  const show = byId<HTMLInputElement>("show-token");
  show.addEventListener("change", () => {
    form.token.type = show.checked ? "text" : "password";
  });
}
