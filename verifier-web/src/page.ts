/**
 * The verify page: the visitor picks files, everything is read with the File API and checked here.
 * Nothing is uploaded (the page makes no request). The same script runs on the service's /verify page and
 * in the standalone verify.html anyone can save and open offline. DOM is built with textContent only:
 * evidence is untrusted input.
 */
import { fromHex } from "./bytes.js";
import type { Report } from "./report.js";
import { buildTrust, parseMoment } from "./trust.js";
import { checkToken } from "./token-report.js";
import { plainVerdict } from "./plain.js";
import { checkBundle } from "./verify.js";

const WORDS: Record<string, string> = { ok: "holds", fail: "fails", untrusted: "not trusted", note: "note" };
const STEP_TITLES: Record<string, string> = {
  container: "Container", manifest: "ASiC manifest", sums: "SHA256SUMS and its time-stamp", keys: "Service and device keys",
  batches: "Batches and their time-stamps", records: "Records", author: "One author", chain: "Session chain",
  coverage: "Coverage", derived: "Derived files", token: "Time-stamp token",
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
}

function field(label: string, input: HTMLElement): HTMLElement[] {
  return [el("label", { for: input.id }, label), input];
}

function fileInput(id: string, multiple = false): HTMLInputElement {
  const input = el("input", { id, name: id, type: "file" });
  input.multiple = multiple;
  return input;
}

async function bytesOf(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

async function texts(input: HTMLInputElement): Promise<string[]> {
  return Promise.all([...(input.files ?? [])].map((f) => f.text()));
}

function render(report: Report, name: string, out: HTMLElement): void {
  const verdictClass = report.exit_code === 0 ? "ok" : report.exit_code === 2 ? "warn" : "bad";
  const json = JSON.stringify(report, null, 2) + "\n";
  const download = el("a", { class: "button", download: name.replace(/\.[^.]*$/, "") + ".verification.json" }, "Download the result as JSON");
  download.setAttribute("href", URL.createObjectURL(new Blob([json], { type: "application/json" })));
  const section = el("section", { class: "result", id: "result" },
    el("h2", {}, `Result for ${name}`),
    el("p", { class: `plain ${verdictClass}`, id: "plain-verdict" }, plainVerdict(report)),
    el("p", { class: `verdict ${verdictClass}`, role: "status", "data-exit-code": String(report.exit_code) }, report.verdict),
    el("p", {}, download, " ", el("span", { class: "note" }, `exit code ${report.exit_code}, as `, el("code", {}, "promptstamp verify"), " would give; checked in this browser, nothing was uploaded")),
    el("h3", {}, "Rests on"),
    el("ul", {}, ...(report.rests_on.length ? report.rests_on.map((r) => el("li", {}, r))
      : [el("li", { class: "warn" }, "nothing you trust: the evidence is at most self-consistent")])),
  );
  if (Object.keys(report.facts).length) {
    section.append(el("h3", {}, "Facts"), el("table", { class: "facts" },
      ...Object.entries(report.facts).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v))))));
  }
  section.append(el("h3", {}, "Checks, in the order they ran"));
  const groups: { step: string; checks: Report["checks"] }[] = [];
  for (const c of report.checks) {
    if (!groups.length || groups[groups.length - 1]!.step !== c.step) groups.push({ step: c.step, checks: [] });
    groups[groups.length - 1]!.checks.push(c);
  }
  for (const g of groups) {
    const counts = new Map<string, number>();
    for (const c of g.checks) counts.set(c.outcome, (counts.get(c.outcome) ?? 0) + 1);
    const details = el("details", { class: "checks", "data-step": g.step },
      el("summary", {}, el("strong", {}, STEP_TITLES[g.step] ?? g.step), ": " + [...counts].map(([o, n]) => `${n} ${WORDS[o]}`).join(", ")));
    details.open = false;  // folded: the plain-words verdict above says what matters first
    // A big bundle has tens of thousands of record checks that hold: their rows are built when the group is
    // first opened, not before the verdict shows. A group with a failed or untrusted check is built at once.
    if (g.checks.length <= EAGER_ROWS || g.checks.some((c) => c.outcome === "fail" || c.outcome === "untrusted")) {
      details.append(checksTable(g.checks));
    } else {
      details.addEventListener("toggle", () => {
        if (!details.querySelector("table")) details.append(checksTable(g.checks));
      });
    }
    section.append(details);
  }
  section.append(el("details", {}, el("summary", {}, "The result as JSON"), el("pre", { id: "report-json" }, json)));
  out.replaceChildren(section);
}

// Groups of up to this many checks get their table with the verdict; bigger ones when first opened.
const EAGER_ROWS = 500;

function checksTable(checks: Report["checks"]): HTMLElement {
  return el("table", { class: "list checks" },
    el("thead", {}, el("tr", {}, el("th", {}, "Outcome"), el("th", {}, "Subject"), el("th", {}, "Check"), el("th", {}, "Why"))),
    el("tbody", {}, ...checks.map((c) => el("tr", { class: c.outcome },
      el("td", {}, el("span", { class: `badge ${({ ok: "ok", fail: "bad", untrusted: "warn" } as Record<string, string>)[c.outcome] ?? ""}` }, WORDS[c.outcome] ?? c.outcome)),
      el("td", {}, el("code", {}, c.subject)), el("td", {}, c.check), el("td", {}, c.detail)))));
}

/** A label that takes a dropped file into its input and shows the chosen name. */
function dropZone(input: HTMLInputElement, text: string): HTMLElement {
  const name = el("span", { class: "drop-name", "aria-live": "polite" });
  const zone = el("label", { class: "drop", for: input.id }, el("span", { class: "drop-text" }, text), input, name);
  const show = (): void => {
    name.textContent = input.files?.[0]?.name ?? "";
  };
  input.addEventListener("change", show);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer?.files.length) {
      input.files = e.dataTransfer.files;
      show();
    }
  });
  return zone;
}

export function mount(root: HTMLElement): void {
  const file = fileInput("file");
  const data = fileInput("data");
  const digest = el("input", { id: "digest", name: "digest", type: "text", spellcheck: "false", placeholder: "64 hex characters for SHA-256" });
  const roots = fileInput("tsa_root", true);
  const keys = fileInput("trust_key", true);
  const keyText = el("textarea", { id: "trust_key_text", rows: "2", spellcheck: "false", placeholder: "e.g. 3f2a9c0b1d4e5f60" });
  const certs = fileInput("certs", true);
  const at = el("input", { id: "at", name: "at", type: "text", spellcheck: "false", placeholder: "e.g. 2041-06-01 (empty: now)" });
  const button = el("button", { type: "submit" }, "Verify");
  const status = el("p", { class: "note", id: "status", "aria-live": "polite" });
  const error = el("p", { class: "error", role: "alert", id: "error", hidden: "" });
  const out = el("div", { id: "output" });
  const form = el("form", { class: "verify-form", id: "verify-form" },
    el("fieldset", {}, el("legend", {}, "Evidence"),
      dropZone(file, "Drop a bundle (.asice) or a token (.tsr, .tst) here, or choose one"),
      el("p", { class: "note" }, "For a bare token, also give what it stamps, one of:"),
      ...field("The stamped file", data), ...field("or its hex digest", digest)),
    el("fieldset", {}, el("legend", {}, "What you trust"),
      ...field("TSA root certificates (PEM)", roots), ...field("Service public keys (PEM)", keys),
      ...field("or service key ids / fingerprints, one per line", keyText),
      ...field("Extra intermediate certificates (PEM, not trusted)", certs)),
    el("fieldset", {}, el("legend", {}, "When"),
      ...field("Judge certificate validity at (a date or an RFC 3339 time)", at),
      el("p", { class: "note" }, "Tokens are always checked at their own time; this is when their certificates must " +
        "still hold, or archive time-stamps (RFC 4998) must carry them, as promptstamp verify --at does.")),
    button, status);
  root.replaceChildren(error, out, form);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      error.hidden = true;
      const evidence = file.files?.[0];
      if (!evidence) {
        error.textContent = "Choose the evidence to check: a bundle (.asice), or a .tsr/.tst token.";
        error.hidden = false;
        return;
      }
      button.disabled = true;
      status.textContent = `Checking ${evidence.name} in this browser…`;
      status.dataset["state"] = "running";
      try {
        const keyLines = keyText.value.includes("-----BEGIN") ? [keyText.value]
          : keyText.value.split("\n").map((l) => l.trim()).filter(Boolean);
        const { trust, intermediates } = await buildTrust(await texts(roots), [...await texts(keys), ...keyLines]);
        if (at.value.trim()) trust.at = parseMoment(at.value);
        const { pemCertificates } = await import("./tokens.js");
        const extra = [...intermediates, ...(await texts(certs)).flatMap(pemCertificates)];
        const bytes = await bytesOf(evidence);
        let report: Report;
        if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
          if (data.files?.[0] || digest.value.trim()) throw new Error("data or digest are for a bare .tsr/.tst; a bundle carries its own data");
          report = await checkBundle(bytes, trust);
        } else {
          const stamped = data.files?.[0];
          const hexDigest = digest.value.trim();
          if (!stamped === !hexDigest) throw new Error("a bare time-stamp token needs exactly one of the stamped data or its hex digest");
          report = await checkToken(bytes, trust, stamped ? { data: await bytesOf(stamped) } : { digest: fromHex(hexDigest) }, extra);
        }
        render(report, evidence.name, out);
        status.textContent = `Checked ${evidence.name} in this browser; nothing was uploaded.`;
      } catch (e) {
        error.textContent = e instanceof Error ? e.message : String(e);
        error.hidden = false;
        status.textContent = "";
      } finally {
        button.disabled = false;
        status.dataset["state"] = "done";
      }
    })();
  });
}

const root = document.getElementById("verifier");
if (root) mount(root);
