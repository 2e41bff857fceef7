"""A Doubao stand-in that speaks the live completion stream (live-traffic-2026.md §2.8).

The page sends each turn to POST ``/chat/completion``: the prompt as a JSON string in
``messages[0].content`` and the request options in ``completion_option`` (``is_regen`` with
``regen_query_id`` for "regenerate", ``edit_query_id`` for an edited prompt). The answer is SSE with
named events: ``SSE_ACK``, the user's message echoed whole in ``FULL_MSG_NOTIFY``, the answer opened
by ``STREAM_MSG_NOTIFY`` (``reply_id`` = the prompt), text increments in ``STREAM_CHUNK.patch_op``,
heartbeats, the finished answer whole in ``FULL_MSG_NOTIFY`` and ``SSE_REPLY_END``. The saved
conversation is POST ``/im/chain/single`` (``downlink_body.pull_singe_chain_downlink_body.messages``,
AI text as a JSON-array string in ``content``); this page never reads it itself, so the only reads are
the extension's own re-reads, which the stand-in counts.

Requests for other hosts fall through to the other stand-ins: this one answers only its own host.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

DOUBAO_HOST = "www.doubao.com"

DOUBAO_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Doubao</title></head>
<body><main><div id="chat"></div></main>
<script>
let conversationId = (location.pathname.match(/^\\/chat\\/(\\d+)/) || [])[1] || "0";
let firstQuery = null, lastQuery = null;
function render(testid, text) {
  const el = document.createElement("div");
  el.setAttribute("data-testid", testid);
  el.textContent = text;
  document.getElementById("chat").append(el);
}
async function turn(text, options) {
  const body = {messages: [{content: JSON.stringify({text}), content_type: 2001, attachments: []}],
    completion_option: Object.assign({is_regen: false, with_suggest: true,
      need_create_conversation: conversationId === "0", launch_stage: 1, is_replace: false, is_delete: false,
      message_from: 0, use_deep_think: false, use_auto_cot: false, event_id: "0"}, options),
    conversation_id: conversationId, local_message_id: crypto.randomUUID()};
  const res = await fetch("/chat/completion?aid=497858&device_platform=web", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  let answer = "", query = null;
  for (const block of (await res.text()).split("\\n\\n")) {
    const name = (block.match(/^event: (.*)$/m) || [])[1];
    const line = (block.match(/^data: (.*)$/m) || [])[1];
    if (!name || !line) continue;
    const data = JSON.parse(line);
    if (name === "SSE_ACK" && conversationId === "0") {
      conversationId = data.ack_client_meta.conversation_id;
      history.pushState({}, "", "/chat/" + conversationId);
    }
    if (name === "FULL_MSG_NOTIFY" && data.message.user_type === 1) query = data.message.message_id;
    if (name === "STREAM_CHUNK") for (const op of data.patch_op)
      for (const b of op.patch_value.content_block) answer += b.content.text_block.text;
  }
  render("receive_message", answer);
  return query;
}
window.send = async (text) => {
  render("send_message", text);
  const query = await turn(text, {});
  if (!firstQuery) firstQuery = query;
  lastQuery = query;
  return conversationId;
};
window.regenerate = async () => {
  await turn(document.querySelectorAll("[data-testid=send_message]")[0].textContent,
    {is_regen: true, regen_query_id: lastQuery});
  return conversationId;
};
window.editFirst = async (text) => {
  render("send_message", text);
  lastQuery = await turn(text, {edit_query_id: firstQuery});
  return conversationId;
};
</script></body></html>
"""


class DoubaoStandIn:
    """Conversations in memory: a flat message list, answers linked to their prompt by reply_id."""

    def __init__(self) -> None:
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.chain_reads: list[str] = []
        self.next_id = 7432109876540100
        self.lock = threading.Lock()

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def turn(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
        option = body.get("completion_option") or {}
        text = json.loads(body["messages"][0]["content"])["text"]
        with self.lock:
            conv = str(body.get("conversation_id") or "0")
            if conv == "0":
                conv = self._id()
                self.conversations[conv] = []
            messages = self.conversations.get(conv)
            if messages is None:
                abort(404)
            user: dict[str, Any] | None = None
            if option.get("is_regen"):
                query = str(option.get("regen_query_id"))
                if not any(m["message_id"] == query for m in messages):
                    abort(400)
                prompt = next(m for m in messages if m["message_id"] == query)["text"]
            else:
                user = {"message_id": self._id(), "conversation_id": conv, "user_type": 1, "content_type": 1,
                        "text": text, "index_in_conv": len(messages) + 1, "create_time": int(time.time())}
                messages.append(user)
                query, prompt = user["message_id"], text
            count = sum(1 for m in messages if m.get("reply_id") == query) + 1
            answer = {"message_id": self._id(), "conversation_id": conv, "user_type": 2, "content_type": 9999,
                      "reply_id": query, "text": f"回答{count}：{prompt}", "index_in_conv": len(messages) + 1,
                      "create_time": int(time.time())}
            messages.append(answer)
        return conv, user, answer

    @staticmethod
    def stream(conv: str, user: dict[str, Any] | None, answer: dict[str, Any]) -> Iterator[str]:
        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

        def block(text: str) -> dict[str, Any]:
            return {"block_id": "b1", "block_type": 10000, "content": {"text_block": {"text": text}}}

        yield event("SSE_ACK", {"ack_client_meta": {"conversation_id": conv}})
        if user is not None:
            yield event("FULL_MSG_NOTIFY", {"message": {**_saved(user)}})
        meta = {"message_id": answer["message_id"], "conversation_id": conv, "reply_id": answer["reply_id"],
                "user_type": 2}
        yield event("STREAM_MSG_NOTIFY", {"meta": meta, "content": {"content_block": [block("")]}})
        text = answer["text"]
        for i in range(0, len(text), 3):
            time.sleep(0.02)
            yield event("STREAM_CHUNK", {"message_id": answer["message_id"],
                                         "patch_op": [{"patch_object": 1, "patch_type": 1,
                                                       "patch_value": {"content_block": [block(text[i:i + 3])]}}]})
        yield event("SSE_HEARTBEAT", {})
        yield event("FULL_MSG_NOTIFY", {"message": _saved(answer)})
        yield event("SSE_REPLY_END", {"end_type": 1})

    def chain(self, body: dict[str, Any]) -> dict[str, Any]:
        uplink = body.get("uplink_body", {}).get("pull_singe_chain_uplink_body", {})
        conv = str(uplink.get("conversation_id", ""))
        with self.lock:
            messages = self.conversations.get(conv)
            if messages is None:
                abort(404)
            self.chain_reads.append(conv)
            saved = [_saved(m) for m in messages]
        return {"downlink_body": {"pull_singe_chain_downlink_body": {"messages": saved, "has_more": False}}}


def _saved(m: dict[str, Any]) -> dict[str, Any]:
    """A message as the site stores it: the user's text as a JSON object string, the AI's as a JSON array string."""
    out = {k: v for k, v in m.items() if k != "text"}
    text: Any = {"text": m["text"]} if m["user_type"] == 1 else [{"text": m["text"]}]
    out["content"] = json.dumps(text, ensure_ascii=False)
    return out


def register_doubao(app: Flask) -> None:
    doubao = DoubaoStandIn()
    app.extensions["doubao"] = doubao

    @app.before_request
    def doubao_host() -> Response | None:
        if request.host.split(":")[0] != DOUBAO_HOST:
            return None
        path = request.path
        if request.method == "GET" and (path == "/chat/" or path.startswith("/chat/")):
            return Response(DOUBAO_PAGE, mimetype="text/html")
        if request.method == "POST" and path == "/chat/completion":
            conv, user, answer = doubao.turn(request.get_json(force=True))
            return Response(doubao.stream(conv, user, answer), mimetype="text/event-stream")
        if request.method == "POST" and path == "/im/chain/single":
            return Response(json.dumps(doubao.chain(request.get_json(force=True)), ensure_ascii=False),
                            mimetype="application/json")
        abort(404)
