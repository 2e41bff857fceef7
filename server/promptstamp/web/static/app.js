// Small progressive enhancements. Everything works without script; nothing here builds markup from
// strings (captured content is untrusted), only textContent and classList.
"use strict";

function copyButtons() {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.addEventListener("click", async () => {
      const value = button.getAttribute("data-copy") || "";
      try {
        await navigator.clipboard.writeText(value);
        button.textContent = "copied";
      } catch {
        // No clipboard permission (plain http, old browser): select the value so Ctrl+C works.
        const code = button.previousElementSibling;
        if (code) {
          const range = document.createRange();
          range.selectNodeContents(code);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        button.textContent = "selected";
      }
      button.classList.add("done");
      setTimeout(() => { button.textContent = "copy"; button.classList.remove("done"); }, 1500);
    });
  }
}

function dropZones() {
  for (const zone of document.querySelectorAll("[data-drop]")) {
    const input = zone.querySelector("input[type=file]");
    const name = zone.querySelector(".drop-name");
    if (!input) continue;
    const show = () => { if (name) name.textContent = input.files.length ? input.files[0].name : ""; };
    input.addEventListener("change", show);
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  copyButtons();
  dropZones();
});
