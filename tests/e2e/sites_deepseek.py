"""A DeepSeek stand-in that speaks the live wire format (live-traffic-2026.md §2.4).

POST /api/v0/chat/completion streams SSE: ``event: ready`` with the turn's integer message ids and
``model_type``, an opening ``{v: {response: …}}`` snapshot, ``{p, o, v}`` patches whose path stays
sticky across bare ``{v}`` frames (reasoning into ``thinking_content`` first on thinking turns), a
``BATCH``, ``finish`` and ``close``. A prompt containing "stop" is cut off the way a stopped answer
ends: no FINISHED, no ``finish``, only ``close``; the site saves it INCOMPLETE. Regenerate streams the
same grammar from /api/v0/chat/regenerate. GET /api/v0/chat/history_messages answers the session's
messages (``parent_id: null`` on first prompts, ``current_message_id``); with the page's
``cache_version`` it answers only the messages after that version, a delta.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

DEEPSEEK_HOST = "chat.deepseek.com"

DEEPSEEK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>DeepSeek</title></head>
<body><main><div id="chat"></div></main>
<script>
const session = location.pathname.split("/").pop();
let lastAnswer = null, lastUser = null, cacheVersion = 0;
const headers = {"Content-Type": "application/json", "Authorization": "Bearer page-token"};
function render(cls, text) {
  const div = document.createElement("div");
  div.className = cls;
  div.setAttribute("data-um-id", String(document.querySelectorAll("[data-um-id]").length));
  div.textContent = text;
  document.getElementById("chat").append(div);
}
async function stream(path, body) {
  const res = await fetch(path, {method: "POST", headers, body: JSON.stringify(body)});
  for (const block of (await res.text()).split("\\n\\n")) {
    const lines = block.split("\\n");
    const ev = (lines.find(l => l.startsWith("event: ")) || "").slice(7);
    const data = lines.filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("");
    if (ev !== "ready") continue;
    const r = JSON.parse(data);
    lastUser = r.request_message_id;
    lastAnswer = r.response_message_id;
  }
  render("ds-markdown", "…");
  // The page's own read is a delta from its cached version.
  const h = await fetch("/api/v0/chat/history_messages?chat_session_id=" + session + "&cache_version=" + cacheVersion,
    {headers});
  cacheVersion = (await h.json()).data.biz_data.chat_session.version;
}
window.send = (text, thinking = false) => {
  render("user", text);
  return stream("/api/v0/chat/completion", {chat_session_id: session, parent_message_id: lastAnswer, prompt: text,
    ref_file_ids: [], thinking_enabled: thinking, search_enabled: false});
};
window.regenerate = () => stream("/api/v0/chat/regenerate",
  {chat_session_id: session, message_id: lastAnswer, parent_message_id: lastUser});
window.editFirst = (text) => {
  render("user", text);
  return stream("/api/v0/chat/completion", {chat_session_id: session, parent_message_id: null, prompt: text,
    ref_file_ids: [], thinking_enabled: false, search_enabled: false});
};
</script></body></html>
"""


def _sse(event: str | None, data: Any) -> str:
    return (f"event: {event}\n" if event else "") + "data: " + json.dumps(data) + "\n\n"


class DeepSeekStandIn:
    """Sessions as the history endpoint returns them: a flat list linked by integer parent ids."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def _session(self, sid: str) -> dict[str, Any]:
        return self.sessions.setdefault(sid, {"id": sid, "title": "Harbour tides", "version": 0,
                                              "current_message_id": None, "messages": []})

    @staticmethod
    def _message(mid: int, parent: int | None, role: str, text: str, status: str, *, thinking: bool,
                 version: int) -> dict[str, Any]:
        return {"message_id": mid, "parent_id": parent, "model": "", "role": role, "thinking_enabled": thinking,
                "search_enabled": False, "status": status, "content": text, "thinking_content": None,
                "inserted_at": time.time(), "files": [], "tips": [], "accumulated_token_usage": 30, "_version": version}

    def turn(self, body: dict[str, Any], *, regenerate: bool) -> tuple[int, dict[str, Any], str, bool]:
        with self.lock:
            s = self._session(body["chat_session_id"])
            msgs: list[dict[str, Any]] = s["messages"]
            s["version"] += 1
            thinking = bool(body.get("thinking_enabled"))
            if regenerate:
                user = next(m for m in msgs if m["message_id"] == body["parent_message_id"])
                thinking = user["thinking_enabled"]
            else:
                user = self._message(len(msgs) + 1, body.get("parent_message_id"), "USER", body["prompt"], "FINISHED",
                                     thinking=thinking, version=s["version"])
                msgs.append(user)
            stopped = "stop" in user["content"].lower()
            n = sum(1 for m in msgs if m["role"] == "ASSISTANT") + 1
            text = f"Answer {n} to: {user['content']}"
            if stopped:
                text = text[: len(text) // 2]
            # WIP until its stream ends: a history read meanwhile shows it unfinished.
            answer = self._message(len(msgs) + 1, user["message_id"], "ASSISTANT", text, "WIP",
                                   thinking=thinking, version=s["version"])
            msgs.append(answer)
            s["current_message_id"] = answer["message_id"]
            return user["message_id"], answer, "thinking" if thinking else "default", stopped

    def stream(self, user_id: int, answer: dict[str, Any], model_type: str, stopped: bool) -> Iterator[str]:
        yield _sse("ready", {"request_message_id": user_id, "response_message_id": answer["message_id"],
                             "model_type": model_type})
        opening = {k: v for k, v in answer.items() if not k.startswith("_")}
        opening.update(content="")
        yield _sse(None, {"v": {"response": opening}})
        if model_type == "thinking":
            yield _sse(None, {"p": "response/thinking_content", "o": "SET", "v": "Weighing the tide tables first."})
        text = answer["content"]
        third = max(1, len(text) // 3)
        yield _sse(None, {"p": "response/content", "o": "APPEND", "v": text[:third]})
        time.sleep(0.03)
        yield _sse(None, {"v": text[third:2 * third]})
        yield _sse(None, {"v": text[2 * third:]})
        if not stopped:
            yield _sse(None, {"p": "response", "o": "BATCH", "v": [{"p": "accumulated_token_usage", "v": 30},
                                                                  {"p": "quasi_status", "v": "FINISHED"}]})
            yield _sse(None, {"p": "response/status", "o": "SET", "v": "FINISHED"})
            yield _sse("finish", {})
        with self.lock:
            answer["status"] = "INCOMPLETE" if stopped else "FINISHED"
        yield _sse("close", {"click_behavior": "none", "auto_resume": False})

    def history(self, sid: str, cache_version: int | None) -> dict[str, Any]:
        with self.lock:
            s = self._session(sid)
            listed = [{k: v for k, v in m.items() if not k.startswith("_")} for m in s["messages"]
                      if cache_version is None or m["_version"] > cache_version]
            session = {"id": sid, "title": s["title"], "version": s["version"],
                       "current_message_id": s["current_message_id"]}
        return {"code": 0, "msg": "", "data": {"biz_code": 0, "biz_msg": "", "biz_data": {
            "chat_session": session, "chat_messages": listed, "cache_valid": cache_version is not None}}}


def register_deepseek(app: Flask) -> None:
    deepseek = DeepSeekStandIn()
    app.extensions["deepseek"] = deepseek

    def on_host() -> None:
        if request.host.split(":")[0] != DEEPSEEK_HOST:
            abort(404)

    @app.get("/a/chat/s/<sid>")
    def deepseek_page(sid: str) -> Response:
        on_host()
        return Response(DEEPSEEK_PAGE, mimetype="text/html")

    @app.post("/api/v0/chat/completion")
    @app.post("/api/v0/chat/regenerate")
    def deepseek_turn() -> Response:
        on_host()
        user_id, answer, model_type, stopped = deepseek.turn(request.get_json(force=True),
                                                             regenerate=request.path.endswith("/regenerate"))
        return Response(deepseek.stream(user_id, answer, model_type, stopped), mimetype="text/event-stream")

    @app.get("/api/v0/chat/history_messages")
    def deepseek_history() -> Response:
        on_host()
        version = request.args.get("cache_version")
        body = deepseek.history(request.args["chat_session_id"], int(version) if version is not None else None)
        return Response(json.dumps(body), mimetype="application/json")
