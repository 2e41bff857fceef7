"""A Perplexity stand-in that speaks the live wire format (live-traffic-2026.md §2.7).

POST /rest/sse/perplexity_ask takes ``query_str`` and ``params`` (``model_preference``,
``frontend_uuid``, on follow-ups ``last_backend_uuid``) and answers SSE ``message`` events, each a
cumulative snapshot of the ask (``backend_uuid``, ``thread_url_slug``, ``display_model``, ``status``,
``blocks`` holding the answer twice, as ``ask_text_0_markdown`` and ``ask_text``), then
``end_of_stream``. The thread's address is its first ask's ``backend_uuid``. GET /rest/thread/{slug}
lists the asks oldest first, two per page, with ``has_next_page`` / ``next_cursor``; the page reads
every page when it loads a thread.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

PERPLEXITY_HOST = "www.perplexity.ai"
PAGE_SIZE = 2
# The model the site says answered, per requested preference.
DISPLAY_MODELS = {"turbo": "turbo", "claude2": "claude-sonnet-4-5"}

PERPLEXITY_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Perplexity</title></head>
<body><main><div id="thread" class="prose"></div></main>
<script>
let slug = (location.pathname.match(/^\\/search\\/([A-Za-z0-9._-]+)/) || [])[1] || null;
let lastBackend = null, lastFollowed = null, lastQuery = null, model = "turbo";
function render(text) {
  const div = document.createElement("div");
  div.id = "markdown-content-" + document.querySelectorAll("#thread > div").length;
  div.textContent = text;
  document.getElementById("thread").append(div);
}
async function ask(query, followed) {
  const params = {query_str: query, model_preference: model, mode: "concise", search_focus: "internet",
    sources: ["web"], frontend_uuid: crypto.randomUUID(), version: "2.18"};
  if (followed) params.last_backend_uuid = followed;
  const res = await fetch("/rest/sse/perplexity_ask", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({query_str: query, params})});
  let answer = "";
  for (const block of (await res.text()).split("\\n\\n")) {
    const data = block.split("\\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("");
    if (!data || data === "{}") continue;
    const snap = JSON.parse(data);
    slug = snap.thread_url_slug;
    lastBackend = snap.backend_uuid;
    answer = snap.blocks.find(b => b.intended_usage === "ask_text").markdown_block.answer;
  }
  render(answer);
  if (!location.pathname.startsWith("/search/")) history.pushState({}, "", "/search/" + slug);
}
window.send = (query, preference) => {
  if (preference) model = preference;
  lastFollowed = lastBackend;
  lastQuery = query;
  return ask(query, lastFollowed);
};
window.rewrite = () => ask(lastQuery, lastFollowed);
async function readThread(cursor) {
  const res = await fetch("/rest/thread/" + slug + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
  const page = await res.json();
  if (page.has_next_page) await readThread(page.next_cursor);
}
if (slug) readThread(null);
</script></body></html>
"""


class PerplexityStandIn:
    """Threads as lists of asks, oldest first."""

    def __init__(self) -> None:
        self.threads: dict[str, list[dict[str, Any]]] = {}
        self.slug_of: dict[str, str] = {}
        self.lock = threading.Lock()

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        params = body["params"]
        with self.lock:
            backend = str(uuid.uuid4())
            followed = params.get("last_backend_uuid")
            slug = self.slug_of[followed] if followed else backend
            self.slug_of[backend] = slug
            entries = self.threads.setdefault(slug, [])
            entry = {"backend_uuid": backend, "uuid": str(uuid.uuid4()), "thread_url_slug": slug,
                     "query_str": body["query_str"], "model_preference": params["model_preference"],
                     "display_model": DISPLAY_MODELS.get(params["model_preference"], params["model_preference"]),
                     "mode": "COPILOT", "search_focus": "internet", "thread_title": "Harbour pilots",
                     "answer": f"Answer {len(entries) + 1} to: {body['query_str']}", "status": "PENDING",
                     "entry_updated_datetime": time.strftime("%Y-%m-%dT%H:%M:%S.000000", time.gmtime())}
            entries.append(entry)
            return entry

    @staticmethod
    def _blocks(answer: str) -> list[dict[str, Any]]:
        return [{"intended_usage": usage, "markdown_block": {"progress": "IN_PROGRESS", "answer": answer}}
                for usage in ("ask_text_0_markdown", "ask_text")]

    def _snapshot(self, entry: dict[str, Any], answer: str) -> dict[str, Any]:
        snap = {k: v for k, v in entry.items() if k != "answer"}
        snap["blocks"] = self._blocks(answer)
        return snap

    def stream(self, entry: dict[str, Any]) -> Iterator[str]:
        text = entry["answer"]
        for cut in (len(text) // 3, 2 * len(text) // 3):
            yield "event: message\ndata: " + json.dumps(self._snapshot(entry, text[:cut])) + "\n\n"
            time.sleep(0.03)
        with self.lock:
            entry["status"] = "COMPLETED"
        yield "event: message\ndata: " + json.dumps(dict(self._snapshot(entry, text), final=True)) + "\n\n"
        yield "event: end_of_stream\ndata: {}\n\n"

    def page(self, slug: str, cursor: str | None) -> dict[str, Any]:
        start = int(cursor[1:]) if cursor else 0
        with self.lock:
            entries = self.threads.get(slug, [])
            listed = [self._snapshot(e, e["answer"]) for e in entries[start:start + PAGE_SIZE]]
            more = start + PAGE_SIZE < len(entries)
        return {"status": "success", "entries": listed, "has_next_page": more,
                "next_cursor": f"p{start + PAGE_SIZE}" if more else None}


def register_perplexity(app: Flask) -> None:
    perplexity = PerplexityStandIn()
    app.extensions["perplexity"] = perplexity

    def on_host() -> None:
        if request.host.split(":")[0] != PERPLEXITY_HOST:
            abort(404)

    @app.before_request
    def perplexity_pages() -> Response | None:
        # "/" is another stand-in's page too: answer this host's pages by host.
        if request.host.split(":")[0] == PERPLEXITY_HOST and request.method == "GET" and (
                request.path == "/" or request.path.startswith("/search/")):
            return Response(PERPLEXITY_PAGE, mimetype="text/html")
        return None

    @app.post("/rest/sse/perplexity_ask")
    def perplexity_ask() -> Response:
        on_host()
        return Response(perplexity.stream(perplexity.ask(request.get_json(force=True))), mimetype="text/event-stream")

    @app.get("/rest/thread/<slug>")
    def perplexity_thread(slug: str) -> Response:
        on_host()
        return Response(json.dumps(perplexity.page(slug, request.args.get("cursor"))), mimetype="application/json")
