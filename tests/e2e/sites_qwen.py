"""A Qwen stand-in that speaks the live v2 chat API (live-traffic-2026.md §2.10).

The page makes a chat with POST ``/api/v2/chats/new``, then sends each turn to POST
``/api/v2/chat/completions?chat_id=<id>``: the body carries ``model``, ``parent_id`` and the user
message (``fid``, ``parentId``, ``content``, ``user_action``, ``models``, ``chat_type``,
``feature_config.thinking_enabled``); a regenerate re-sends the same ``fid``. The answer is SSE: a
``response.created`` frame (``chat_id``, ``parent_id``, ``response_id``), reasoning deltas in the
``think`` phase, answer deltas in the ``answer`` phase (incremental), and a finished delta. After each
turn the page reads the saved chat with GET ``/api/v2/chats/<id>?direction=up&limit=10``:
``data.chat.history.messages`` keyed by id with ``parentId`` (null for a first message),
``content_list`` phases and ``currentId``.

Requests for other hosts fall through to the other stand-ins: this one answers only its own host.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

QWEN_HOST = "chat.qwen.ai"
QWEN_MODEL = "qwen3-max"

QWEN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Qwen Chat</title></head>
<body><main><div id="messages"></div></main>
<script>
const AUTH = {"Authorization": "Bearer page-token"};
let chatId = (location.pathname.match(/^\\/c\\/([0-9a-f-]+)/) || [])[1] || null;
let lastFid = null, lastText = null, lastAnswer = null;
const parents = {};
function render(cls, text) {
  const el = document.createElement("div");
  el.className = cls;
  el.textContent = text;
  document.getElementById("messages").append(el);
}
async function turn(fid, parent, text, action) {
  if (!chatId) {
    const made = await (await fetch("/api/v2/chats/new", {method: "POST", headers: AUTH})).json();
    chatId = made.data.id;
    history.pushState({}, "", "/c/" + chatId);
  }
  const body = {stream: true, incremental_output: true, chat_id: chatId, chat_mode: "normal", model: "__MODEL__",
    parent_id: parent, messages: [{fid, parentId: parent, childrenIds: [], role: "user", content: text,
      user_action: action, files: [], timestamp: Math.floor(Date.now() / 1000), models: ["__MODEL__"], chat_type: "t2t",
      feature_config: {thinking_enabled: true, output_schema: "phase"}}], timestamp: Math.floor(Date.now() / 1000)};
  const res = await fetch("/api/v2/chat/completions?chat_id=" + chatId, {method: "POST",
    headers: Object.assign({"Content-Type": "application/json"}, AUTH), body: JSON.stringify(body)});
  let answer = "";
  for (const line of (await res.text()).split("\\n")) {
    if (!line.startsWith("data: ")) continue;
    const frame = JSON.parse(line.slice(6));
    if (frame["response.created"]) lastAnswer = frame["response.created"].response_id;
    const delta = frame.choices && frame.choices[0].delta;
    if (delta && delta.phase === "answer") answer += delta.content;
  }
  render("chat-response-message", answer);
  await fetch("/api/v2/chats/" + chatId + "?direction=up&limit=10", {headers: AUTH});
  return chatId;
}
function ask(text, parent, action) {
  const fid = crypto.randomUUID();
  parents[fid] = parent;
  lastFid = fid;
  lastText = text;
  render("chat-user", text);
  return turn(fid, parent, text, action);
}
window.send = (text) => ask(text, lastAnswer, "chat");
// "Try again" re-sends the same user message (same fid, same parent).
window.regenerate = () => turn(lastFid, parents[lastFid], lastText, "regenerate");
// Editing the first prompt makes a new user message under the root (parentId null).
window.editFirst = (text) => ask(text, null, "edit");
</script></body></html>
"""


class QwenStandIn:
    """Chats in memory, each a message map with parent ids and the active leaf."""

    def __init__(self) -> None:
        self.chats: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def new_chat(self) -> str:
        chat_id = str(uuid.uuid4())
        with self.lock:
            self.chats[chat_id] = {"id": chat_id, "title": "New Chat", "messages": {}, "currentId": None}
        return chat_id

    def turn(self, chat_id: str, body: dict[str, Any]) -> tuple[str, str, str, str]:
        """Store the user message (unless re-sent) and the answer; return (fid, answer id, text, reasoning)."""
        user = body["messages"][-1]
        fid = str(user["fid"])
        with self.lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                abort(404)
            messages = chat["messages"]
            if fid not in messages:
                messages[fid] = {"id": fid, "parentId": user.get("parentId"), "childrenIds": [], "role": "user",
                                 "content": user["content"], "timestamp": int(time.time()), "models": user["models"],
                                 "chat_type": user["chat_type"], "feature_config": user["feature_config"], "done": True}
                if chat["title"] == "New Chat":
                    chat["title"] = str(user["content"])[:24]
            answers = [m for m in messages.values() if m["role"] == "assistant" and m["parentId"] == fid]
            text = f"Answer {len(answers) + 1} to: {user['content']}"
            reasoning = f"Thinking about: {user['content']}"
            answer_id = str(uuid.uuid4())
            messages[answer_id] = {"id": answer_id, "parentId": fid, "childrenIds": [], "role": "assistant",
                                   "content": "",
                                   "content_list": [{"content": reasoning, "phase": "think", "status": "finished"},
                                                    {"content": text, "phase": "answer", "status": "finished"}],
                                   "timestamp": int(time.time()), "model": body["model"], "done": True}
            messages[fid]["childrenIds"].append(answer_id)
            chat["currentId"] = answer_id
        return fid, answer_id, text, reasoning

    @staticmethod
    def stream(chat_id: str, fid: str, answer_id: str, text: str, reasoning: str) -> Iterator[str]:
        def frame(data: dict[str, Any]) -> str:
            return f"data: {json.dumps(data)}\n\n"

        def delta(content: str, phase: str, status: str) -> str:
            return frame({"choices": [{"delta": {"role": "assistant", "content": content, "phase": phase,
                                                 "status": status}}], "response_id": answer_id})

        yield frame({"response.created": {"chat_id": chat_id, "parent_id": fid, "response_id": answer_id}})
        yield delta(reasoning, "think", "typing")
        yield delta("", "think", "finished")
        for word in text.split(" "):
            time.sleep(0.02)
            yield delta(word if word == text.split(" ")[0] else " " + word, "answer", "typing")
        yield delta("", "answer", "finished")

    def read(self, chat_id: str) -> dict[str, Any]:
        with self.lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                abort(404)
            return {"success": True, "data": {"id": chat_id, "title": chat["title"], "chat": {"history": {
                "messages": json.loads(json.dumps(chat["messages"])), "currentId": chat["currentId"]}}}}


def register_qwen(app: Flask) -> None:
    qwen = QwenStandIn()
    app.extensions["qwen"] = qwen

    @app.before_request
    def qwen_host() -> Response | None:
        if request.host.split(":")[0] != QWEN_HOST:
            return None
        path = request.path
        if request.method == "GET" and (path == "/" or path.startswith("/c/")):
            return Response(QWEN_PAGE.replace("__MODEL__", QWEN_MODEL), mimetype="text/html")
        if request.headers.get("Authorization") != "Bearer page-token":
            abort(401)
        if request.method == "POST" and path == "/api/v2/chats/new":
            return Response(json.dumps({"success": True, "data": {"id": qwen.new_chat()}}), mimetype="application/json")
        if request.method == "POST" and path == "/api/v2/chat/completions":
            chat_id = request.args.get("chat_id", "")
            fid, answer_id, text, reasoning = qwen.turn(chat_id, request.get_json(force=True))
            return Response(qwen.stream(chat_id, fid, answer_id, text, reasoning), mimetype="text/event-stream")
        if request.method == "GET" and path.startswith("/api/v2/chats/"):
            return Response(json.dumps(qwen.read(path.rsplit("/", 1)[1])), mimetype="application/json")
        abort(404)
