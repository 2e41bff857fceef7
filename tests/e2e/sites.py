"""Stand-ins for the hosted AI sites, served over HTTPS under their real host names.

The ChatGPT stand-in speaks the shapes the real site uses (capture-sites.md §1-2): a conversation
tree at GET /backend-api/conversation/<id>, a turn streamed over SSE with v1 delta patches from
POST /backend-api/f/conversation, and generated images behind the files API's signed download URL.
A page script plays the user's part: send, regenerate, edit. A conversation whose id starts with
``dddddddd`` is served in a changed ("drifted") shape, to prove the adapter notices.

The Claude stand-in: the page makes a conversation uuid itself, streams each turn from
POST …/chat_conversations/<uuid>/completion (or …/retry_completion for a regeneration) as
Anthropic-style SSE ending in ``message_stop``, then re-reads the tree at
GET …/chat_conversations/<uuid>?tree=True (``chat_messages`` with ``parent_message_uuid``).
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

DRIFT_PREFIX = "dddddddd"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR42mP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
FILES_HOST = "files.oaiusercontent.com"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main><div id="thread"></div></main>
<script>
let conversationId = (location.pathname.match(/^\\/c\\/([0-9a-f-]+)/) || [])[1] || null;
let lastUser = null, lastAi = null, parentOfLastUser = null;
function render(role, id, text) {
  const turn = document.createElement("article");
  turn.setAttribute("data-testid", "conversation-turn-" + document.querySelectorAll("article").length);
  const body = document.createElement("div");
  body.setAttribute("data-message-author-role", role);
  body.setAttribute("data-message-id", id);
  body.textContent = text;
  turn.append(body);
  document.getElementById("thread").append(turn);
}
async function turn(body) {
  const res = await fetch("/backend-api/f/conversation", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer page-token"}, body: JSON.stringify(body)});
  const text = await res.text();
  for (const block of text.split("\\n\\n")) {
    const data = block.split("\\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\\n");
    if (!data || data === "[DONE]") continue;
    const ev = JSON.parse(data);
    if (ev && ev.conversation_id && !conversationId) {
      conversationId = ev.conversation_id;
      history.pushState({}, "", "/c/" + conversationId);
    }
    if (ev && ev.v && ev.v.message) { lastAi = ev.v.message.id; render("assistant", lastAi, "…"); }
  }
  await fetch("/backend-api/conversation/" + conversationId, {headers: {"Authorization": "Bearer page-token"}});
  return conversationId;
}
window.send = (text) => {
  const id = crypto.randomUUID();
  parentOfLastUser = lastAi || "client-created-root";
  lastUser = id;
  render("user", id, text);
  return turn({action: "next", conversation_id: conversationId || undefined, parent_message_id: parentOfLastUser,
    model: "gpt-4o", messages: [{id, author: {role: "user"}, content: {content_type: "text", parts: [text]}}]});
};
window.regenerate = () => turn({action: "variant", conversation_id: conversationId, parent_message_id: lastUser,
  model: "gpt-4o", messages: []});
window.editLast = (text) => {
  const id = crypto.randomUUID();
  lastUser = id;
  render("user", id, text);
  return turn({action: "next", conversation_id: conversationId, parent_message_id: parentOfLastUser, model: "gpt-4o",
    messages: [{id, author: {role: "user"}, content: {content_type: "text", parts: [text]}}]});
};
if (conversationId) fetch("/backend-api/conversation/" + conversationId).then(r => r.json()).then(() => {});
</script></body></html>
"""

DRIFT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main><section class="chat"><p class="me">Draw a lighthouse at dusk, oil on canvas please</p>
<p class="bot">A lighthouse at dusk: warm beam, cold sea, thick impasto strokes in the sky.</p></section></main>
<script>fetch(location.pathname.replace("/c/", "/backend-api/conversation/")).then(r => r.text());</script>
</body></html>
"""


class ChatGptStandIn:
    """In-memory conversations, each a mapping tree as the real API returns it."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def _node(self, conv: dict[str, Any], message: dict[str, Any], parent: str) -> None:
        mapping = conv["mapping"]
        mapping[message["id"]] = {"id": message["id"], "message": message, "parent": parent, "children": []}
        mapping[parent]["children"].append(message["id"])
        conv["current_node"] = message["id"]

    def _message(self, role: str, parts: list[Any], *, parent: str, content_type: str = "text",
                 model: str = "gpt-4o") -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "author": {"role": role, "name": None, "metadata": {}},
                "create_time": time.time(), "content": {"content_type": content_type, "parts": parts},
                "status": "finished_successfully", "end_turn": True, "weight": 1.0,
                "metadata": {"model_slug": model, "parent_id": parent}, "recipient": "all"}

    def new_conversation(self) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        conv = {"conversation_id": cid, "title": "Cat astronaut", "current_node": "client-created-root",
                "mapping": {"client-created-root": {"id": "client-created-root", "message": None,
                                                     "parent": None, "children": []}}}
        self.conversations[cid] = conv
        return conv

    def turn(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        with self.lock:
            cid = body.get("conversation_id")
            conv = self.conversations[cid] if cid else self.new_conversation()
            parent = body["parent_message_id"]
            user_text = ""
            for m in body.get("messages", []):
                user = dict(m, create_time=time.time(), status="finished_successfully", recipient="all",
                            metadata={})
                self._node(conv, user, parent)
                parent = user["id"]
                user_text = m["content"]["parts"][0]
            if body.get("action") == "variant":
                user_text = conv["mapping"][parent]["message"]["content"]["parts"][0]
            if "image" in user_text.lower():
                file_id = "file_" + uuid.uuid4().hex[:16]
                part = {"content_type": "image_asset_pointer", "asset_pointer": f"sediment://{file_id}",
                        "size_bytes": len(PNG), "width": 2, "height": 2,
                        "metadata": {"dalle": {"gen_id": "gen_" + file_id[5:13], "prompt": user_text, "seed": 77},
                                     "generation": {"gen_id": "gen_" + file_id[5:13], "width": 2, "height": 2}}}
                answer = self._message("tool", [part], parent=parent, content_type="multimodal_text",
                                       model="gpt-image-1")
            else:
                n = sum(1 for node in conv["mapping"].values() if node["message"]
                        and node["message"]["author"]["role"] == "assistant")
                answer = self._message("assistant", [f"Answer {n + 1} to: {user_text}"], parent=parent)
            self._node(conv, answer, parent)
            return conv["conversation_id"], answer

    def stream(self, cid: str, answer: dict[str, Any]) -> Iterator[str]:
        start = json.loads(json.dumps(answer))
        start["status"] = "in_progress"
        text = answer["content"]["parts"][0] if isinstance(answer["content"]["parts"][0], str) else None
        if text is not None:
            start["content"]["parts"] = [""]
        yield 'event: delta_encoding\ndata: "v1"\n\n'
        yield "event: delta\ndata: " + json.dumps({"p": "", "o": "add", "v": {"message": start,
                                                                             "conversation_id": cid}}) + "\n\n"
        if text is not None:
            half = len(text) // 2
            yield "event: delta\ndata: " + json.dumps(
                {"p": "/message/content/parts/0", "o": "append", "v": text[:half]}) + "\n\n"
            time.sleep(0.05)
            yield "event: delta\ndata: " + json.dumps({"v": text[half:]}) + "\n\n"
        yield "event: delta\ndata: " + json.dumps({"p": "", "o": "patch", "v": [
            {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
            {"p": "/message/end_turn", "o": "replace", "v": True}]}) + "\n\n"
        yield "data: " + json.dumps({"type": "message_stream_complete", "conversation_id": cid}) + "\n\n"
        yield "data: [DONE]\n\n"

CLAUDE_ORG = "0b7c5a6e-1111-4222-8333-444455556666"
CLAUDE_ROOT = "00000000-0000-4000-8000-000000000000"

CLAUDE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Claude</title></head>
<body><main><div id="thread"></div></main>
<script>
const ORG = "__ORG__", ROOT = "__ROOT__";
let conv = (location.pathname.match(/^\\/chat\\/([0-9a-f-]{36})/) || [])[1] || null;
let lastHuman = null, lastAssistant = ROOT, parentOfLastHuman = ROOT;
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
  await fetch(base() + "?tree=True&rendering_mode=messages&render_all_tools=true");  // what the app does
}
window.send = async (text) => {
  if (!conv) { conv = crypto.randomUUID(); history.pushState({}, "", "/chat/" + conv); }
  parentOfLastHuman = lastAssistant;
  render("user-message", text);
  await stream("/completion", {prompt: text, parent_message_uuid: lastAssistant, attachments: [], files: []});
};
window.regenerate = () => stream("/retry_completion", {parent_message_uuid: lastHuman});
window.editLast = async (text) => {
  render("user-message", text);
  await stream("/completion", {prompt: text, parent_message_uuid: parentOfLastHuman, attachments: [], files: []});
};
</script></body></html>
""".replace("__ORG__", CLAUDE_ORG).replace("__ROOT__", CLAUDE_ROOT)


class ClaudeStandIn:
    """Conversations as the tree endpoint returns them: a flat list linked by parent_message_uuid."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _message(sender: str, text: str, parent: str, index: int) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        return {"uuid": str(uuid.uuid4()), "text": "", "content": [{"type": "text", "text": text, "citations": []}],
                "sender": sender, "index": index, "created_at": now, "updated_at": now, "truncated": False,
                "stop_reason": "stop_sequence" if sender == "assistant" else None, "attachments": [], "files": [],
                "parent_message_uuid": parent}

    def turn(self, cid: str, body: dict[str, Any], *, retry: bool) -> dict[str, Any]:
        with self.lock:
            conv = self.conversations.setdefault(cid, {
                "uuid": cid, "name": "Harbour poem", "model": "claude-sonnet-4-5", "chat_messages": [],
                "current_leaf_message_uuid": CLAUDE_ROOT})
            messages: list[dict[str, Any]] = conv["chat_messages"]
            if retry:
                human = next(m for m in messages if m["uuid"] == body["parent_message_uuid"])
            else:
                human = self._message("human", body["prompt"], body["parent_message_uuid"], len(messages))
                messages.append(human)
            n = sum(1 for m in messages if m["sender"] == "assistant") + 1
            answer = self._message("assistant", f"Reply {n} to: {human['content'][0]['text']}", human["uuid"],
                                   len(messages))
            messages.append(answer)
            conv["current_leaf_message_uuid"] = answer["uuid"]
            return answer

    @staticmethod
    def stream(answer: dict[str, Any]) -> Iterator[str]:
        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n"

        text = answer["content"][0]["text"]
        yield event("message_start", {"type": "message_start", "message": {
            "id": "chatcompl_" + answer["uuid"][:8], "type": "message", "role": "assistant", "content": [],
            "stop_reason": None, "uuid": answer["uuid"], "parent_uuid": answer["parent_message_uuid"]}})
        yield event("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})
        for part in (text[: len(text) // 2], text[len(text) // 2:]):
            yield event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": part}})
            time.sleep(0.03)
        yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
        yield event("message_stop", {"type": "message_stop"})


def create_sites_app() -> Flask:
    app = Flask(__name__)
    chatgpt = ChatGptStandIn()
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
        with claude.lock:
            conv = claude.conversations.get(cid)
            if conv is None:
                abort(404)
            return Response(json.dumps(conv), mimetype="application/json")

    @app.post("/backend-api/f/conversation")
    def conversation_turn() -> Response:
        cid, answer = chatgpt.turn(request.get_json(force=True))
        return Response(chatgpt.stream(cid, answer), mimetype="text/event-stream")

    @app.get("/backend-api/conversation/<cid>")
    def conversation(cid: str) -> Response:
        if cid.startswith(DRIFT_PREFIX):
            drifted = {"conversation_id": cid, "title": "Lighthouse", "nodes": [
                {"uid": "x1", "who": "me", "body": "Draw a lighthouse at dusk, oil on canvas please"}]}
            return Response(json.dumps(drifted), mimetype="application/json")
        conv = chatgpt.conversations.get(cid)
        if conv is None:
            abort(404)
        with chatgpt.lock:
            return Response(json.dumps(conv), mimetype="application/json")

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
