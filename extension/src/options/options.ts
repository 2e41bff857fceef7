/** Options: the service and pairing, pause, per-site switches. */
import { ADAPTERS } from "../adapters/registry.ts";
import { send } from "../core/messages.ts";
import { byId, el } from "../ui/dom.ts";
import { renderPairedWith } from "../ui/paired-with.ts";
import { setUpPairForm } from "./pair-form.ts";

async function showDevice(): Promise<void> {
  const d = await send({ kind: "deviceInfo" });
  byId("device-key").textContent = d.keyId;
  byId("device-registered").textContent = d.registered ? "(registered with the service)" : "(not registered yet)";
  renderPairedWith(byId("pairing-state"), await send({ kind: "pairingState" }));
}

async function main(): Promise<void> {
  const settings = await send({ kind: "getSettings" });
  const server = byId<HTMLInputElement>("server");
  const token = byId<HTMLInputElement>("token");
  const name = byId<HTMLInputElement>("device-name");
  server.value = settings.serverUrl;
  token.value = settings.token;
  name.value = settings.deviceName;
  const paused = byId<HTMLInputElement>("paused");
  paused.checked = settings.paused;
  paused.addEventListener("change", () => void send({ kind: "saveSettings", paused: paused.checked }));

  const sites = byId("sites");
  for (const a of ADAPTERS) {
    const box = el("input", { type: "checkbox", "data-testid": `site-${a.id}` });
    box.checked = settings.sites[a.id] !== false;
    box.addEventListener("change", async () => {
      const current = await send({ kind: "getSettings" });
      await send({ kind: "saveSettings", sites: { ...current.sites, [a.id]: box.checked } });
    });
    sites.append(el("label", { class: "site" }, box, ` ${a.name} `, el("span", { class: "muted" }, a.hosts.join(", "))));
  }

  setUpPairForm({ server, token, name, after: showDevice });
  byId("unpair").addEventListener("click", async () => {
    await send({ kind: "unpair" });
    token.value = "";
    const result = byId("pair-result");
    result.textContent = "Token forgotten; steps keep queuing on this device until you pair again.";
    result.className = "";
    await showDevice();
  });
  await showDevice();
  // The queue moves while the page is open (uploads, time-stamps).
  setInterval(() => void showDevice(), 2000);
}

void main();
