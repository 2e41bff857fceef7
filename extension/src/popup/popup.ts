/** The popup: what is captured on this tab, and the user's own steps (selection, note). */
import { ext, send, type TabStatus } from "../core/messages.ts";
import { byId, clear, el } from "../ui/dom.ts";
import { renderPairedWith } from "../ui/paired-with.ts";

async function currentTabId(): Promise<number | undefined> {
  // Opened as a page (tests, or pinned in a tab), the popup is told which tab it describes.
  const param = new URLSearchParams(location.search).get("tab");
  if (param) return Number(param);
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

function say(text: string, bad = false): void {
  const p = byId("result");
  p.textContent = text;
  p.className = bad ? "error" : "ok";
}

function render(s: TabStatus): void {
  const capture = byId("capture");
  const on = Boolean(s.site) && s.enabled && !s.paused;
  capture.textContent = !s.site ? "Not a supported site" : s.paused ? "Paused" : s.enabled ? "Capture on" : "Capture off";
  capture.className = `badge ${on ? "on" : "off"}`;

  const site = byId("site");
  clear(site);
  if (s.site) {
    site.append(el("div", {}, el("strong", {}, s.siteName ?? s.site), ` · adapter ${s.adapter ?? ""}`));
    site.append(el("div", { class: "muted" }, s.sessionId ? `Session: ${s.title || s.sessionId}` : "No conversation open"));
  }

  const health = byId("health");
  health.hidden = s.health !== "drift";
  clear(health);
  if (s.health === "drift") {
    health.className = "error";
    health.append(el("strong", {}, "The adapter needs an update."), " ",
      "This page changed and capture is not reliable here, so nothing is being recorded from it.",
      el("div", { class: "muted" }, s.healthReason ?? ""));
  }

  renderGaps(s);

  const counts = byId("counts");
  clear(counts);
  const c = s.counts;
  if (s.sessionId) counts.append(el("span", { class: "muted" }, "This conversation: "));
  counts.append(
    el("span", { "data-testid": "count-stamped" }, `${c.stamped} stamped`), " · ",
    el("span", { "data-testid": "count-pending" }, `${c.pending} awaiting time-stamp`), " · ",
    el("span", { "data-testid": "count-queued" }, `${c.queued} waiting to upload`),
    el("span", { class: c.rejected ? "error" : "muted", "data-testid": "count-rejected" }, ` · ${c.rejected} rejected`),
  );

  const error = byId("error");
  error.hidden = !s.lastError;
  error.textContent = s.lastError ? `Last error: ${s.lastError}` : "";

  const select = byId<HTMLSelectElement>("output");
  const previous = select.value;
  clear(select);
  for (const o of [...s.outputs].reverse()) {
    const label = `${o.capturedAt.slice(11, 19)} ${o.excerpt || (o.images.length ? `${o.images.length} image(s)` : "(no text)")}`;
    select.append(el("option", { value: o.recordId }, label.slice(0, 90)));
  }
  // Keep the user's pick; otherwise offer the newest output.
  if (userPicked && previous && s.outputs.some((o) => o.recordId === previous)) select.value = previous;
  const picked = document.querySelector<HTMLInputElement>("input[name=image]:checked")?.value;
  renderImages(s, picked);
  byId<HTMLButtonElement>("mark").disabled = !s.outputs.length;
  byId<HTMLButtonElement>("add-note").disabled = !s.sessionId;
}

/** Capture gaps on this tab: each is also a drift record in the session, so the evidence shows it too. */
function renderGaps(s: TabStatus): void {
  const box = byId("gaps");
  box.hidden = !s.gaps.length;
  clear(box);
  if (!s.gaps.length) return;
  box.append(el("strong", {}, s.gaps.length === 1 ? "A capture gap on this tab" : `${s.gaps.length} capture gaps on this tab`));
  const list = el("ul", {});
  for (const g of [...s.gaps].reverse()) {
    list.append(el("li", { "data-testid": "gap" }, `${g.at.slice(11, 19)} ${g.text}`,
      el("span", { class: "muted" }, g.recordId ? " (recorded as a gap in the session)" : " (no conversation to record it in)")));
  }
  box.append(list);
}

let last: TabStatus | undefined;
let userPicked = false;

function renderImages(s: TabStatus, picked?: string): void {
  const box = byId("images");
  clear(box);
  const chosen = s.outputs.find((o) => o.recordId === byId<HTMLSelectElement>("output").value);
  if (!chosen?.images.length) return;
  const radio = (value: string, testid: string) => {
    const input = el("input", { type: "radio", name: "image", value, "data-testid": testid });
    input.checked = (picked ?? "") === value;
    return input;
  };
  box.append(el("label", {}, radio("", "image-all"), " the whole output"));
  chosen.images.forEach((img, i) => {
    box.append(el("label", {}, radio(String(i), `image-${i}`), ` image ${i + 1} (${img.digest.slice(7, 19)}…)`));
  });
}

async function refresh(tabId: number): Promise<void> {
  last = await send({ kind: "tabStatus", tabId });
  render(last);
  const pairing = await send({ kind: "pairingState" });
  renderPairedWith(byId("pairing-state"), pairing, () => void ext.runtime.openOptionsPage());
  // A refused token is said once, with what to do, in the pairing box.
  if (pairing.tokenRefused) byId("error").hidden = true;
}

async function main(): Promise<void> {
  const tabId = await currentTabId();
  if (tabId === undefined) return;
  byId("output").addEventListener("change", () => {
    userPicked = true;
    if (last) renderImages(last);
  });
  byId("mark").addEventListener("click", async () => {
    const recordId = byId<HTMLSelectElement>("output").value;
    const picked = document.querySelector<HTMLInputElement>("input[name=image]:checked")?.value;
    const r = await send({ kind: "markChosen", tabId, recordId, imageIndex: picked ? Number(picked) : undefined });
    say(r.ok ? "Marked as chosen." : r.error ?? "failed", !r.ok);
    await refresh(tabId);
  });
  byId("add-note").addEventListener("click", async () => {
    const area = byId<HTMLTextAreaElement>("note-text");
    const r = await send({ kind: "addNote", tabId, text: area.value });
    if (r.ok) area.value = "";
    say(r.ok ? "Note added." : r.error ?? "failed", !r.ok);
    await refresh(tabId);
  });
  byId("flush").addEventListener("click", async () => {
    await send({ kind: "flush" });
    await refresh(tabId);
  });
  await refresh(tabId);
  setInterval(() => void refresh(tabId), 1000);
}

void main();
