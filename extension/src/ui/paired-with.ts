/** "Paired with <service> as <account>" and the device's queue, the same words in the popup and options. */
import type { PairingState } from "../core/messages.ts";
import { clear, el } from "./dom.ts";

function clock(iso: string): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  return sameDay ? at.toLocaleTimeString() : at.toLocaleString();
}

/**
 * `openOptions`, where given (the popup), puts a way to pair right beside "Not paired". The options
 * page shows the last problem too (the popup has its own line for it): a token revoked after pairing
 * is found by an upload, and the options page is where the user fixes it.
 */
export function renderPairedWith(box: HTMLElement, s: PairingState, openOptions?: () => void): void {
  clear(box);
  if (s.paired) {
    const who = s.accountName
      ? [" as ", el("strong", { "data-testid": "paired-account" }, s.accountName)]
      : [el("span", { class: "muted" }, " (this service does not say which account)")];
    box.append(el("div", { class: s.tokenRefused ? "warn" : "ok", "data-testid": "paired-with" },
      "Paired with ", el("strong", { "data-testid": "paired-service" }, s.service ?? s.serverUrl), ...who));
    if (s.tokenRefused) {
      box.append(el("div", { class: "error", "data-testid": "token-refused" },
        `${s.service ?? s.serverUrl} no longer accepts this device's token (it was probably revoked). `,
        openOptions ? "Your steps wait on this device: pair again with a new token." :
          "Your steps wait on this device: paste a new token above and press Pair."));
      if (openOptions) {
        const link = el("button", { class: "link", "data-testid": "pair-now" }, "Pair again");
        link.addEventListener("click", openOptions);
        box.append(link);
      }
    }
  } else {
    const line = el("div", { class: "warn", "data-testid": "paired-with" },
      s.serverUrl ? `Not paired (last service: ${s.service ?? s.serverUrl}). ` : "Not paired with a service yet. ",
      "Steps are kept on this device until you pair.");
    if (openOptions) {
      const link = el("button", { class: "link", "data-testid": "pair-now" }, "Pair now");
      link.addEventListener("click", openOptions);
      line.append(" ", link);
    }
    box.append(line);
  }
  const q = s.queue;
  const item = (testid: string, n: number, words: string, bad = false) =>
    el("span", { "data-testid": testid, class: bad && n ? "error" : "" }, `${n} ${words}`);
  box.append(el("div", { "data-testid": "device-queue" }, "On this device: ",
    item("queue-queued", q.queued, "waiting to upload"), " · ",
    item("queue-pending", q.pending, "awaiting time-stamp"), " · ",
    item("queue-stamped", q.stamped, "stamped"), " · ",
    item("queue-rejected", q.rejected, "rejected", true)));
  box.append(el("div", { class: "muted", "data-testid": "last-upload" },
    s.lastUploadAt ? `Last upload: ${clock(s.lastUploadAt)}` : "Nothing uploaded yet"));
  if (!openOptions && s.lastError && !s.tokenRefused) {
    box.append(el("div", { class: "error", "data-testid": "last-problem" }, `Last problem: ${s.lastError}`));
  }
}
