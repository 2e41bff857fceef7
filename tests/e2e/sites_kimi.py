"""A Kimi stand-in (live-traffic-2026.md §2.9).

The saved conversation is POST ``/apiv2/kimi.gateway.chat.v1.ChatService/ListMessages`` with body
``{chat_id, page_size}``: ``messages[]{id, parentId, role, blocks[], status, createTime}`` newest first,
paged by ``nextPageToken`` (the stand-in serves at most 100 a page), reasoning in ``think`` blocks,
a first message without ``parentId`` (protobuf JSON leaves empty fields out). The send/stream call is
not identified by any public capture; this stand-in's page sends its turns to a ChatService method of
its own (``SendMessage``) as a Connect stream (enveloped JSON) and never reads the list itself, so
every recorded step comes from the extension's own re-reads, which the stand-in counts.

Requests for other hosts fall through to the other stand-ins: this one answers only its own host.
"""

from __future__ import annotations

import datetime
import json
import struct
import threading
import uuid
from typing import Any

from flask import Flask, Response, abort, request

KIMI_HOST = "www.kimi.com"
SERVICE = "/apiv2/kimi.gateway.chat.v1.ChatService/"

KIMI_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Kimi</title></head>
<body><main><div id="chat"></div></main>
<script>
let chatId = (location.pathname.match(/^\\/chat\\/([A-Za-z0-9-]+)/) || [])[1] || null;
let firstId = null, lastId = null;
function envelope(obj) {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const out = new Uint8Array(5 + json.length);
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  return out;
}
function render(cls, text) {
  const el = document.createElement("div");
  el.className = cls;
  el.textContent = text;
  document.getElementById("chat").append(el);
}
async function call(method, body, type) {
  return fetch("__SERVICE__" + method, {method: "POST", body,
    headers: {"Content-Type": type, "Authorization": "Bearer page-token"}});
}
async function turn(message) {
  if (!chatId) {
    chatId = (await (await call("CreateChat", "{}", "application/json")).json()).chat.id;
    history.pushState({}, "", "/chat/" + chatId);
  }
  // The turn goes out as bytes (a Connect envelope): its chat id cannot be read from the request.
  const buf = new Uint8Array(await (await call("SendMessage", envelope(Object.assign({chat_id: chatId}, message)),
    "application/connect+json")).arrayBuffer());
  const len = new DataView(buf.buffer).getUint32(1);
  const answer = JSON.parse(new TextDecoder().decode(buf.slice(5, 5 + len)));
  render("segment-assistant", answer.text);
  return answer;
}
window.send = async (text) => {
  render("segment-user", text);
  const answer = await turn({parent_id: lastId, text});
  if (!firstId) firstId = answer.user_id;
  lastId = answer.id;
  return chatId;
};
window.regenerate = async () => { lastId = (await turn({regenerate: lastId})).id; return chatId; };
window.editFirst = async (text) => {
  render("segment-user", text);
  lastId = (await turn({edit: firstId, text})).id;
  return chatId;
};
</script></body></html>
"""


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _frame(flags: int, data: dict[str, Any]) -> bytes:
    """A Connect streaming frame: one flags byte, a 32-bit length, the JSON message."""
    body = json.dumps(data).encode()
    return struct.pack(">BI", flags, len(body)) + body


class KimiStandIn:
    def __init__(self) -> None:
        self.chats: dict[str, list[dict[str, Any]]] = {}
        self.list_reads: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def create(self) -> str:
        chat_id = str(uuid.uuid4())
        with self.lock:
            self.chats[chat_id] = []
        return chat_id

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        chat_id = str(body["chat_id"])
        with self.lock:
            messages = self.chats.get(chat_id)
            if messages is None:
                abort(404)
            by_id = {m["id"]: m for m in messages}
            if "regenerate" in body:
                answered = by_id[str(body["regenerate"])]
                user = by_id[answered["parentId"]]
            else:
                user = {"id": str(uuid.uuid4()), "role": "user", "createTime": _now(),
                        "status": "MESSAGE_STATUS_COMPLETED", "blocks": [{"text": {"content": body["text"]}}]}
                parent = by_id[str(body["edit"])].get("parentId") if "edit" in body else body.get("parent_id")
                if parent:
                    user["parentId"] = parent
                messages.append(user)
            prompt = user["blocks"][0]["text"]["content"]
            count = sum(1 for m in messages if m.get("parentId") == user["id"]) + 1
            answer = {"id": str(uuid.uuid4()), "parentId": user["id"], "role": "assistant", "createTime": _now(),
                      "status": "MESSAGE_STATUS_COMPLETED",
                      "blocks": [{"think": {"content": f"Considering: {prompt}"}},
                                 {"text": {"content": f"Reply {count} to: {prompt}"}}]}
            messages.append(answer)
        return {"id": answer["id"], "user_id": user["id"], "text": answer["blocks"][1]["text"]["content"]}

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            messages = self.chats.get(str(body.get("chat_id")))
            if messages is None:
                abort(404)
            self.list_reads.append(body)
            size = min(int(body.get("page_size", 20)), 100)
            start = int(body.get("page_token") or 0)
            newest_first = list(reversed(messages))
            page = newest_first[start:start + size]
            out: dict[str, Any] = {"messages": page}
            if start + size < len(newest_first):
                out["nextPageToken"] = str(start + size)
            return out


def register_kimi(app: Flask) -> None:
    kimi = KimiStandIn()
    app.extensions["kimi"] = kimi

    @app.before_request
    def kimi_host() -> Response | None:
        if request.host.split(":")[0] != KIMI_HOST:
            return None
        path = request.path
        if request.method == "GET" and path.startswith("/chat"):
            return Response(KIMI_PAGE.replace("__SERVICE__", SERVICE), mimetype="text/html")
        if request.headers.get("Authorization") != "Bearer page-token":
            abort(401)
        if request.method == "POST" and path == SERVICE + "CreateChat":
            return Response(json.dumps({"chat": {"id": kimi.create()}}), mimetype="application/json")
        if request.method == "POST" and path == SERVICE + "SendMessage":
            raw = request.get_data()
            answer = kimi.send(json.loads(raw[5:]))
            stream = _frame(0, answer) + _frame(2, {})
            return Response(stream, mimetype="application/connect+json")
        if request.method == "POST" and path == SERVICE + "ListMessages":
            return Response(json.dumps(kimi.list(request.get_json(force=True))), mimetype="application/json")
        abort(404)
