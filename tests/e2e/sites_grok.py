"""A Grok stand-in that speaks the live wire format (live-traffic-2026.md §2.6).

A new chat streams NDJSON from POST /rest/app-chat/conversations/new (lines ``{result: {conversation}}``
and ``{result: {response: …}}``), a follow-up, redo or edit from POST …/{id}/responses (lines
``{result: …}``): the user's response, answer tokens (reasoning ones flagged ``isThinking``), then
``modelResponse``, the whole answer with ``parentResponseId``. A redo names the user's response as
parent and streams no user response; an edit of the first prompt names no parent. The saved chat is
read in two steps, as the page does on load: GET …/response-node?includeThreads=true (ids, senders,
parents) and POST …/load-responses {responseIds} (bodies without parents). A prompt asking for a
picture answers generated image paths served from assets.grok.com.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

from .sites import PNG

GROK_HOST = "grok.com"
GROK_ASSETS_HOST = "assets.grok.com"
GROK_MODEL = "grok-4"

GROK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Grok</title></head>
<body><main><div id="chat"></div></main>
<script>
let conv = (location.pathname.match(/^\\/c\\/([0-9a-f-]+)/) || [])[1] || null;
let lastUser = null, lastAnswer = null, lastPrompt = null;
const base = "/rest/app-chat/conversations/";
function render(cls, text) {
  const div = document.createElement("div");
  div.className = cls;
  div.textContent = text;
  document.getElementById("chat").append(div);
}
async function stream(url, body) {
  const res = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(Object.assign({modelName: "__MODEL__", fileAttachments: [], imageAttachments: [],
      disableSearch: false, enableImageGeneration: true, isReasoning: false, sendFinalMetadata: true}, body))});
  let answer = "";
  for (const line of (await res.text()).split("\\n")) {
    if (!line) continue;
    const result = JSON.parse(line).result;
    if (result.conversation) conv = result.conversation.conversationId;
    const r = result.response || result;
    if (r.userResponse) lastUser = r.userResponse.responseId;
    if (r.modelResponse) { lastAnswer = r.modelResponse.responseId; answer = r.modelResponse.message; }
  }
  render("message-bubble", answer);
  if (!location.pathname.startsWith("/c/")) history.pushState({}, "", "/c/" + conv);
}
window.send = (text) => {
  lastPrompt = text;
  render("message-bubble", text);
  return conv ? stream(base + conv + "/responses", {message: text, parentResponseId: lastAnswer})
    : stream(base + "new", {message: text});
};
window.regenerate = () => stream(base + conv + "/responses", {message: lastPrompt, parentResponseId: lastUser});
window.editFirst = (text) => {
  lastPrompt = text;
  render("message-bubble", text);
  return stream(base + conv + "/responses", {message: text});
};
if (conv) {
  fetch(base + conv + "/response-node?includeThreads=true").then(r => r.json()).then(skeleton =>
    fetch(base + conv + "/load-responses", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({responseIds: skeleton.responseNodes.map(n => n.responseId)})}));
}
</script></body></html>
""".replace("__MODEL__", GROK_MODEL)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class GrokStandIn:
    """Conversations as lists of responses linked by parentResponseId."""

    def __init__(self) -> None:
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def turn(self, conv: str | None, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
        with self.lock:
            cid = conv or str(uuid.uuid4())
            responses = self.conversations.setdefault(cid, [])
            by_id = {r["responseId"]: r for r in responses}
            parent = body.get("parentResponseId")
            user: dict[str, Any] | None = None
            if parent and by_id.get(parent, {}).get("sender") == "human":
                human = by_id[parent]  # a redo: a new answer under the same user response
            else:
                user = {"responseId": str(uuid.uuid4()), "sender": "human", "message": body["message"],
                        "createTime": _now(), "partial": False, **({"parentResponseId": parent} if parent else {})}
                responses.append(user)
                human = user
            n = sum(1 for r in responses if r["sender"] == "assistant") + 1
            images = []
            if "picture" in human["message"].lower():
                images = [f"users/u1/generated/{uuid.uuid4().hex[:12]}/image.jpg"]
            answer = {"responseId": str(uuid.uuid4()), "sender": "assistant", "createTime": _now(),
                      "message": f"Reply {n} to: {human['message']}", "parentResponseId": human["responseId"],
                      "model": body.get("modelName", GROK_MODEL), "generatedImageUrls": images, "partial": True}
            responses.append(answer)
            return cid, user, answer

    def stream(self, cid: str, new: bool, user: dict[str, Any] | None, answer: dict[str, Any]) -> Iterator[str]:
        def line(inner: dict[str, Any]) -> str:
            return json.dumps({"result": {"response": inner} if new else inner}) + "\n"

        if new:
            yield json.dumps({"result": {"conversation": {"conversationId": cid, "title": "New conversation"}}}) + "\n"
        if user:
            yield line({"userResponse": user})
        for word in ("Thinking", "about", "lights"):
            yield line({"token": word + " ", "isThinking": True, "responseId": answer["responseId"]})
        text = answer["message"]
        for part in (text[: len(text) // 2], text[len(text) // 2:]):
            yield line({"token": part, "isThinking": False, "messageTag": "final", "responseId": answer["responseId"]})
            time.sleep(0.03)
        with self.lock:
            answer["partial"] = False  # saved whole once the stream is through
        yield line({"modelResponse": dict(answer)})
        yield line({"finalMetadata": {"followUpSuggestions": []}})

    def nodes(self, cid: str) -> dict[str, Any]:
        with self.lock:
            responses = self.conversations.get(cid, [])
            nodes = [{"responseId": r["responseId"], "sender": r["sender"], "threadId": "t1",
                      **({"parentResponseId": r["parentResponseId"]} if "parentResponseId" in r else {})}
                     for r in responses]
        return {"responseNodes": nodes, "inflightResponses": []}

    def load(self, cid: str, ids: list[str]) -> dict[str, Any]:
        with self.lock:
            wanted = [r for r in self.conversations.get(cid, []) if r["responseId"] in ids]
            # The bodies carry no parents (a 2026-05 field list): the skeleton has them.
            return {"responses": [{k: v for k, v in r.items() if k != "parentResponseId"} for r in wanted]}


def register_grok(app: Flask) -> None:
    grok = GrokStandIn()
    app.extensions["grok"] = grok

    def host() -> str:
        return request.host.split(":")[0]

    @app.before_request
    def grok_pages() -> Response | None:
        # grok.com's pages share paths with other stand-ins ("/", "/c/<id>"): answer them by host.
        if host() == GROK_HOST and request.method == "GET" and (request.path == "/" or request.path.startswith("/c/")):
            return Response(GROK_PAGE, mimetype="text/html")
        return None

    @app.post("/rest/app-chat/conversations/new")
    @app.post("/rest/app-chat/conversations/<cid>/responses")
    def grok_turn(cid: str | None = None) -> Response:
        if host() != GROK_HOST:
            abort(404)
        conv, user, answer = grok.turn(cid, request.get_json(force=True))
        return Response(grok.stream(conv, cid is None, user, answer), mimetype="application/x-ndjson")

    @app.get("/rest/app-chat/conversations/<cid>/response-node")
    def grok_nodes(cid: str) -> Response:
        return Response(json.dumps(grok.nodes(cid)), mimetype="application/json")

    @app.post("/rest/app-chat/conversations/<cid>/load-responses")
    def grok_load(cid: str) -> Response:
        return Response(json.dumps(grok.load(cid, request.get_json(force=True)["responseIds"])),
                        mimetype="application/json")

    @app.get("/users/<path:path>")
    def grok_asset(path: str) -> Response:
        if host() != GROK_ASSETS_HOST:
            abort(404)
        return Response(PNG, mimetype="image/jpeg")
