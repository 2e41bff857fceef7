"""Stand-ins for the hosted AI sites, served over HTTPS under their real host names.

The ChatGPT stand-in (sites_chatgpt.py) speaks the live wire of live-traffic-2026.md §2.1. A
conversation whose id starts with ``dddddddd`` is served in a changed ("drifted") shape, to prove
the adapter notices.

The Claude stand-in: the page makes a conversation uuid itself, streams each turn from
POST …/chat_conversations/<uuid>/completion (or …/retry_completion for a regeneration) as
Anthropic-style SSE ending in ``message_stop``, then re-reads the tree at
GET …/chat_conversations/<uuid>?tree=True (``chat_messages`` with ``parent_message_uuid``).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

from .sites_chatgpt import ACCOUNT, FILES_HOST, PAGE, PNG, SOCKET_MODEL, ChatGptLive

DRIFT_PREFIX = "dddddddd"

DRIFT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main><section class="chat"><p class="me">Draw a lighthouse at dusk, oil on canvas please</p>
<p class="bot">A lighthouse at dusk: warm beam, cold sea, thick impasto strokes in the sky.</p></section></main>
<script>fetch(location.pathname.replace("/c/", "/backend-api/conversation/")).then(r => r.text());</script>
</body></html>
"""

CLAUDE_ORG = "0b7c5a6e-1111-4222-8333-444455556666"
CLAUDE_ROOT = "00000000-0000-4000-8000-000000000000"
CLAUDE_ACCOUNT = {"uuid": "5e1f0c2a-0000-4000-8000-000000000abc", "full_name": "Ada Keeper", "display_name": "Ada",
                  "email_address": "ada@example.org"}

CLAUDE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Claude</title></head>
<body><main><div id="thread"></div></main>
<script>
const ORG = "__ORG__", ROOT = "__ROOT__";
let conv = (location.pathname.match(/^\\/chat\\/([0-9a-f-]{36})/) || [])[1] || null;
let lastHuman = null, lastAssistant = ROOT, parentOfLastHuman = ROOT, model = "claude-sonnet-4-5";
const base = () => "/api/organizations/" + ORG + "/chat_conversations/" + conv;
function render(testid, text) {
  const div = document.createElement("div");
  div.setAttribute("data-testid", testid);
  div.textContent = text;
  document.getElementById("thread").append(div);
}
async function stream(path, body) {
  const res = await fetch(base() + path, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  for (const block of (await res.text()).split("\\n\\n")) {
    const data = block.split("\\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("");
    if (!data) continue;
    const ev = JSON.parse(data);
    if (ev.type === "message_start") { lastAssistant = ev.message.uuid; lastHuman = ev.message.parent_uuid; }
  }
  render("assistant-message", "…");
  // What the app does: an eventually consistent read that may not show the newest turn yet.
  await fetch(base() + "?tree=True&rendering_mode=messages&render_all_tools=true&consistency=eventual");
}
const prompt = (text, parent) => ({prompt: text, parent_message_uuid: parent, model, timezone: "Europe/Berlin",
  personalized_styles: [{type: "default", key: "Default", name: "Normal"}], attachments: [], files: [],
  rendering_mode: "messages"});
window.setModel = (m) => { model = m; };
window.send = async (text) => {
  if (!conv) { conv = crypto.randomUUID(); history.pushState({}, "", "/chat/" + conv); }
  parentOfLastHuman = lastAssistant;
  render("user-message", text);
  await stream("/completion", prompt(text, lastAssistant));
};
window.regenerate = () => stream("/retry_completion",
  {parent_message_uuid: lastHuman, model, rendering_mode: "messages"});
window.editLast = async (text) => {
  render("user-message", text);
  await stream("/completion", prompt(text, parentOfLastHuman));
};
window.editFirst = async (text) => {
  render("user-message", text);
  await stream("/completion", prompt(text, ROOT));
};
fetch("/api/account").then(r => r.json()).then(() => {});
</script></body></html>
""".replace("__ORG__", CLAUDE_ORG).replace("__ROOT__", CLAUDE_ROOT)


class ClaudeStandIn:
    """Conversations as the tree endpoint returns them: a flat list linked by parent_message_uuid."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.unsaved: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _message(sender: str, text: str, parent: str, index: int) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        block = {"type": "text", "text": text, "citations": [], "start_timestamp": now, "stop_timestamp": now}
        return {"uuid": str(uuid.uuid4()), "text": "", "content": [block],
                "sender": sender, "index": index, "created_at": now, "updated_at": now, "truncated": False,
                "stop_reason": "stop_sequence" if sender == "assistant" else None, "attachments": [], "files": [],
                "parent_message_uuid": parent}

    def turn(self, cid: str, body: dict[str, Any], *, retry: bool) -> dict[str, Any]:
        with self.lock:
            conv = self.conversations.setdefault(cid, {
                "uuid": cid, "name": "Harbour poem", "model": "claude-sonnet-4-5", "chat_messages": [],
                "current_leaf_message_uuid": CLAUDE_ROOT})
            conv["model"] = body.get("model") or conv["model"]  # the tree shows only the latest setting
            messages: list[dict[str, Any]] = conv["chat_messages"]
            if retry:
                human = next(m for m in messages if m["uuid"] == body["parent_message_uuid"])
            else:
                human = self._message("human", body["prompt"], body["parent_message_uuid"], len(messages))
            n = sum(1 for m in messages if m["sender"] == "assistant") + 1
            answer = self._message("assistant", f"Reply {n} to: {human['content'][0]['text']}", human["uuid"],
                                   len(messages) + (0 if retry else 1))
            # The saved conversation shows the turn once its stream has ended.
            self.unsaved[answer["uuid"]] = (conv, [answer] if retry else [human, answer])
            return answer

    def commit(self, answer: dict[str, Any]) -> None:
        with self.lock:
            conv, messages = self.unsaved.pop(answer["uuid"])
            conv["chat_messages"].extend(messages)
            conv["current_leaf_message_uuid"] = answer["uuid"]

    def stream(self, answer: dict[str, Any]) -> Iterator[str]:
        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n"

        text = answer["content"][0]["text"]
        yield event("message_start", {"type": "message_start", "message": {
            "id": "chatcompl_" + answer["uuid"][:8], "type": "message", "role": "assistant", "model": "", "content": [],
            "stop_reason": None, "uuid": answer["uuid"], "parent_uuid": answer["parent_message_uuid"]}})
        yield event("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "thinking", "thinking": ""}})
        yield event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "thinking_delta", "thinking": "Keep it short."}})
        yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield event("content_block_start", {"type": "content_block_start", "index": 1,
                                             "content_block": {"type": "text", "text": ""}})
        for part in (text[: len(text) // 2], text[len(text) // 2:]):
            yield event("content_block_delta", {"type": "content_block_delta", "index": 1,
                                                "delta": {"type": "text_delta", "text": part}})
            time.sleep(0.03)
        yield event("content_block_stop", {"type": "content_block_stop", "index": 1})
        yield event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
        yield event("message_limit", {"type": "message_limit", "message_limit": {"type": "within_limit"}})
        self.commit(answer)
        yield event("message_stop", {"type": "message_stop"})

    def saved(self, cid: str, *, eventual: bool) -> str | None:
        """The tree; an eventually consistent read leaves out what was written in the last second."""
        with self.lock:
            conv = self.conversations.get(cid)
            if conv is None:
                return None
            cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
            messages = [m for m in conv["chat_messages"]
                        if not eventual or datetime.datetime.fromisoformat(m["created_at"]) < cutoff]
            return json.dumps(dict(conv, chat_messages=messages))


def create_sites_app() -> Flask:
    app = Flask(__name__)
    chatgpt = ChatGptLive()
    app.extensions["chatgpt"] = chatgpt
    claude = ClaudeStandIn()
    app.extensions["claude"] = claude

    def host() -> str:
        return request.host.split(":")[0]

    @app.get("/")
    @app.get("/c/<cid>")
    def page(cid: str | None = None) -> Response:
        if host() != "chatgpt.com":
            abort(404)
        html = DRIFT_PAGE if cid and cid.startswith(DRIFT_PREFIX) else PAGE
        return Response(html, mimetype="text/html")

    @app.get("/new")
    @app.get("/chat/<cid>")
    def claude_page(cid: str | None = None) -> Response:
        if host() != "claude.ai":
            abort(404)
        return Response(CLAUDE_PAGE, mimetype="text/html")

    @app.post(f"/api/organizations/{CLAUDE_ORG}/chat_conversations/<cid>/completion")
    @app.post(f"/api/organizations/{CLAUDE_ORG}/chat_conversations/<cid>/retry_completion")
    def claude_turn(cid: str) -> Response:
        answer = claude.turn(cid, request.get_json(force=True), retry=request.path.endswith("/retry_completion"))
        return Response(claude.stream(answer), mimetype="text/event-stream")

    @app.get(f"/api/organizations/{CLAUDE_ORG}/chat_conversations/<cid>")
    def claude_tree(cid: str) -> Response:
        saved = claude.saved(cid, eventual=request.args.get("consistency") == "eventual")
        if saved is None:
            abort(404)
        return Response(saved, mimetype="application/json")

    @app.get("/api/account")
    def claude_account() -> Response:
        if host() != "claude.ai":
            abort(404)
        return Response(json.dumps(CLAUDE_ACCOUNT), mimetype="application/json")

    @app.post("/backend-api/f/conversation")
    def conversation_turn() -> Response:
        turn = request.get_json(force=True)
        cid, user, messages, handoff = chatgpt.turn(turn)
        over_socket = turn.get("model") == SOCKET_MODEL and chatgpt.push is not None
        body = chatgpt.handoff(cid, over_socket) if handoff else chatgpt.stream(cid, user, messages)
        return Response(body, mimetype="text/event-stream")

    @app.post("/backend-api/f/conversation/resume")
    def conversation_resume() -> Response:
        cid = request.get_json(force=True)["conversation_id"]
        if cid not in chatgpt.handoffs:
            abort(404)
        return Response(chatgpt.resume(cid), mimetype="text/event-stream")

    @app.get("/backend-api/conversation/<cid>")
    def conversation(cid: str) -> Response:
        if cid.startswith(DRIFT_PREFIX):
            drifted = {"conversation_id": cid, "title": "Lighthouse", "nodes": [
                {"uid": "x1", "who": "me", "body": "Draw a lighthouse at dusk, oil on canvas please"}]}
            return Response(json.dumps(drifted), mimetype="application/json")
        saved = chatgpt.saved(cid)
        if saved is None:
            abort(404)
        return Response(saved, mimetype="application/json")

    @app.patch("/backend-api/conversation/<cid>")
    def conversation_patch(cid: str) -> Response:
        if not chatgpt.select(cid, request.get_json(force=True).get("current_node", "")):
            abort(404)
        return Response(json.dumps({"success": True}), mimetype="application/json")

    @app.get("/backend-api/me")
    def me() -> Response:
        if host() != "chatgpt.com":
            abort(404)
        return Response(json.dumps(ACCOUNT), mimetype="application/json")

    @app.get("/backend-api/files/download/<file_id>")
    def download(file_id: str) -> Response:
        url = f"https://{FILES_HOST}/{file_id}?se=2026-12-01&sig=short-lived-secret"
        return Response(json.dumps({"status": "success", "download_url": url}), mimetype="application/json")

    @app.get("/<file_id>")
    def file_bytes(file_id: str) -> Response:
        if host() != FILES_HOST:
            abort(404)
        return Response(PNG, mimetype="image/png")

    return app
