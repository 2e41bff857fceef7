/** Options: server and pairing, pause, per-site switches. */
import { ADAPTERS } from "../adapters/registry.ts";
import { ext, send } from "../core/messages.ts";
import { byId, el } from "../ui/dom.ts";

async function showDevice(): Promise<void> {
  const d = await send({ kind: "deviceInfo" });
  byId("device-key").textContent = d.keyId;
  byId("device-registered").textContent = d.registered ? "(registered with the server)" : "(not registered yet)";
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

  const result = byId("pair-result");
  byId("pair").addEventListener("click", async () => {
    result.textContent = "Pairing…";
    result.className = "";
    let origin: string;
    try {
      const url = new URL(server.value.trim());
      // A match pattern names no port (it matches every port); Firefox rejects one that does.
      origin = `${url.protocol}//${url.hostname}`;
    } catch {
      result.textContent = "Enter the server's URL, like https://stamp.example.org";
      result.className = "error";
      return;
    }
    // Ask for the server's origin only now, at use (optional host permission).
    const wanted = { origins: [`${origin}/*`] };
    let granted: boolean;
    try {
      granted = (await ext.permissions.contains(wanted)) || (await ext.permissions.request(wanted));
    } catch (e) {
      result.textContent = `Could not ask for permission to reach ${origin}: ${String(e)}`;
      result.className = "error";
      return;
    }
    if (!granted) {
      result.textContent = "Permission to reach the server was not given.";
      result.className = "error";
      return;
    }
    const r = await send({ kind: "pair", serverUrl: server.value.trim(), token: token.value.trim(), deviceName: name.value.trim() });
    result.textContent = r.ok ? `Paired. This device's key ${r.keyId ?? ""} is registered.` : `Pairing failed: ${r.error ?? "unknown error"}`;
    result.className = r.ok ? "ok" : "error";
    await showDevice();
  });
  byId("unpair").addEventListener("click", async () => {
    await send({ kind: "unpair" });
    token.value = "";
    result.textContent = "Token forgotten; steps keep queuing on this device.";
    await showDevice();
  });
  await showDevice();
}

void main();
