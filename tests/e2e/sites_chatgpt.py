"""A ChatGPT stand-in on the live wire (live-traffic-2026.md §2.1), served under chatgpt.com.

- POST /backend-api/f/conversation streams delta v1: `delta_encoding`, typed frames, `{p:"",o:"add"}`
  message snapshots, a metadata `append` merge carrying `resolved_model_slug`, sticky `{v}` appends,
  a `patch` batch that finishes the message, `message_stream_complete`, `[DONE]`.
- A thinking model's turn hands off: leg 1 is only `stream_handoff` + `[DONE]`; the page then POSTs
  /backend-api/f/conversation/resume {conversation_id, offset: 0} and the answer streams there.
- An image is asynchronous: the stream carries a tool call and an `image_gen_async` "Processing image"
  message; the image message joins the saved tree a little later (only a later tree read finds it).
- The saved tree hangs the first prompt under a hidden system node under `client-created-root`;
  `current_node` is the active leaf, which the page moves (PATCH) when the user picks a branch.
- GET /backend-api/me names the account.
- The page keeps a socket open to wss://ws.chatgpt.com/ws/user/<id> (ws_server.SocketHub). A turn of
  the stand-in's "gpt-5-6-pro" model hands off to it: the answer arrives as `conversation-turn-stream`
  items (a subscribe reply with catch-ups, a repeated and a swapped item, then the inner `done`), and
  finished images are announced there as `add-messages`.

The page script plays the user: send, sendImage, setModel, regenerate (action "variant", the prompt
re-sent with its id), editLast, editFirst (the new prompt under the first prompt's tree parent) and
selectBranch.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR42mP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
FILES_HOST = "files.oaiusercontent.com"
ROOT = "client-created-root"
ACCOUNT = {"object": "user", "id": "user-7Qx2Lm9Pz4Kd", "name": "Ada Keeper", "email": "ada@example.org"}
IMAGE_DELAY_S = 2.0
RESOLVED = {"auto": "gpt-5-4-mini"}
SOCKET_MODEL = "gpt-5-6-pro"  # the stand-in's choice of which handed-off turns continue on the socket

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main><div id="thread"></div></main>
<script>
const H = {"Content-Type": "application/json", "Authorization": "Bearer page-token"};
let conversationId = (location.pathname.match(/^\\/c\\/([0-9a-f-]+)/) || [])[1] || null;
let model = "gpt-4o", tree = null, lastUser = null, lastUserText = "", parentOfLastUser = null;
const finished = {};
let socketLeaf = null;
const socket = new WebSocket("wss://ws.chatgpt.com/ws/user/user-7Qx2Lm9Pz4Kd");
socket.onmessage = (event) => {
  for (const item of JSON.parse(event.data)) {
    const inner = item.payload && item.payload.payload;
    if (inner && inner.type === "stream-item") {
      const data = inner.encoded_item.split("\\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("");
      const ev = data && data !== "[DONE]" && data !== '"v1"' ? JSON.parse(data) : null;
      if (ev && ev.v && ev.v.message && ev.v.message.channel === "final") socketLeaf = ev.v.message.id;
    }
    if (inner && inner.type === "done" && finished[inner.turn_id]) finished[inner.turn_id]();
  }
};
const socketTurn = (id) => new Promise((resolve) => { finished[id] = resolve; });
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
async function read(res) {
  let handoff = null;
  for (const block of (await res.text()).split("\\n\\n")) {
    const data = block.split("\\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\\n");
    if (!data || data === "[DONE]" || data === '"v1"') continue;
    const ev = JSON.parse(data);
    const cid = ev.conversation_id || (ev.v && ev.v.conversation_id);
    if (cid && !conversationId) { conversationId = cid; history.pushState({}, "", "/c/" + cid); }
    if (ev.type === "stream_handoff") handoff = ev;
    if (ev.v && ev.v.message && ev.v.message.channel === "final") render("assistant", ev.v.message.id, "…");
  }
  return handoff;
}
async function readTree() {
  tree = await (await fetch("/backend-api/conversation/" + conversationId, {headers: H})).json();
}
async function turn(body) {
  const handoff = await read(await fetch("/backend-api/f/conversation", {method: "POST", headers: H,
    body: JSON.stringify(body)}));
  if (handoff && model === "gpt-5-6-pro") {
    const done = socketTurn(handoff.turn_exchange_id);
    socket.send(JSON.stringify({type: "subscribe", topic_id: handoff.options[0].topic_id}));
    await done;
    tree.current_node = socketLeaf;  // the socket said it all: no tree read
    return;
  } else if (handoff) {
    await read(await fetch("/backend-api/f/conversation/resume", {method: "POST", headers: H,
      body: JSON.stringify({conversation_id: handoff.conversation_id || conversationId, offset: 0})}));
  }
  await readTree();
}
function userMessage(id, text) {
  return {id, author: {role: "user"}, create_time: Date.now() / 1000,
    content: {content_type: "text", parts: [text]}, metadata: {}};
}
function next(text, parent, hints) {
  const id = crypto.randomUUID();
  lastUser = id; lastUserText = text; parentOfLastUser = parent;
  render("user", id, text);
  return turn({action: "next", conversation_id: conversationId || undefined, parent_message_id: parent, model,
    messages: [userMessage(id, text)], system_hints: hints || [], supports_buffering: true});
}
window.setModel = (m) => { model = m; };
window.send = (text) => next(text, tree ? tree.current_node : "client-created-root");
window.sendImage = (text) => next(text, tree ? tree.current_node : "client-created-root", ["picture_v2"]);
window.editLast = (text) => next(text, parentOfLastUser);
window.editFirst = (text) => {
  const nodes = Object.values(tree.mapping);
  const first = nodes.find(n => n.message && n.message.author.role === "user" &&
    !(tree.mapping[n.parent].message && tree.mapping[n.parent].message.author.role === "user") &&
    (tree.mapping[n.parent].message === null || tree.mapping[n.parent].message.author.role === "system"));
  return next(text, first.parent);
};
window.regenerate = () => turn({action: "variant", conversation_id: conversationId, parent_message_id: parentOfLastUser,
  model, messages: [userMessage(lastUser, lastUserText)], system_hints: []});
window.selectBranch = async (id) => {
  await fetch("/backend-api/conversation/" + conversationId, {method: "PATCH", headers: H,
    body: JSON.stringify({current_node: id})});
  await readTree();
};
fetch("/backend-api/me", {headers: H}).then(r => r.json()).then(() => {});
if (conversationId) readTree();
</script></body></html>
"""


# A planned turn: the conversation, its (message, parent) writes, the image task to finish, the prompt.
Commit = tuple[dict[str, Any], list[tuple[dict[str, Any], str]], dict[str, Any] | None, str]


def _frame(data: Any, event: str | None = "delta") -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


class ChatGptLive:
    """In-memory conversations as the saved tree shows them; turns streamed in delta v1."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.handoffs: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self.commits: dict[str, Commit] = {}
        self.lock = threading.Lock()
        self.push: Callable[[str], int] | None = None

    def _add(self, conv: dict[str, Any], message: dict[str, Any] | None, node_id: str, parent: str | None) -> None:
        conv["mapping"][node_id] = {"id": node_id, "message": message, "parent": parent, "children": []}
        if parent is not None:
            conv["mapping"][parent]["children"].append(node_id)
        if message is not None:
            conv["current_node"] = node_id

    @staticmethod
    def _message(role: str, parts: list[Any], parent: str, *, content_type: str = "text", channel: str | None = "final",
                 recipient: str = "all", name: str | None = None, end_turn: bool | None = True,
                 metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "author": {"role": role, "name": name, "metadata": {}},
                "create_time": time.time(), "update_time": None,
                "content": {"content_type": content_type, "parts": parts}, "status": "finished_successfully",
                "end_turn": end_turn, "weight": 1.0, "metadata": {"parent_id": parent, **(metadata or {})},
                "recipient": recipient, "channel": channel}

    def _new(self) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        conv: dict[str, Any] = {"conversation_id": cid, "title": "Cat astronaut", "current_node": ROOT, "mapping": {},
                                "default_model_slug": "auto"}
        self._add(conv, None, ROOT, None)
        system = self._message("system", [""], ROOT, channel=None, end_turn=None,
                               metadata={"is_visually_hidden_from_conversation": True})
        system["weight"] = 0.0
        self._add(conv, system, system["id"], ROOT)
        conv["system_id"] = system["id"]
        self.conversations[cid] = conv
        return conv

    def turn(self, body: dict[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]], bool]:
        """Plan a turn; answer the conversation id, the user echo, the messages to stream, and whether it hands off.
        The saved tree shows the turn once its stream has ended (commit), as a finished turn."""
        writes: list[tuple[dict[str, Any], str]] = []
        with self.lock:
            cid = body.get("conversation_id")
            conv = self.conversations[cid] if cid else self._new()
            parent = body["parent_message_id"]
            if parent == ROOT:
                parent = conv["system_id"]  # the server hangs a new chat's first prompt under its system node
            sent = body["messages"][0]
            if body.get("action") == "variant":
                user = conv["mapping"][sent["id"]]["message"]
            else:
                user = dict(sent, create_time=time.time(), status="finished_successfully", recipient="all",
                            metadata={"parent_id": parent}, end_turn=None, weight=1.0, channel=None)
                writes.append((user, parent))
            text: str = user["content"]["parts"][0]
            image_after: dict[str, Any] | None = None
            requested = body.get("model") or "auto"
            model = RESOLVED.get(requested, requested)
            meta = {"model_slug": requested, "resolved_model_slug": model, "default_model_slug": "auto"}
            out: list[dict[str, Any]] = []
            if "picture_v2" in body.get("system_hints", []) or "image" in text.lower():
                call = self._message("assistant", ['{"prompt": "' + text + '", "size": "1024x1024"}'], user["id"],
                                     channel=None, recipient="t2uay3k.sj1i4kz", end_turn=False, metadata=meta)
                task = {"image_gen_async": True, "async_task_id": f"task_{uuid.uuid4().hex[:8]}"}
                proc = self._message("tool", ["Processing image"], call["id"], channel=None, name="t2uay3k.sj1i4kz",
                                     metadata=task)
                for m in (call, proc):
                    writes.append((m, m["metadata"]["parent_id"]))
                    out.append(m)
                image_after = proc
            else:
                parent_of_answer = user["id"]
                thinking = "thinking" in requested
                if thinking:
                    thoughts = self._message("assistant", [], user["id"], channel="analysis", content_type="thoughts",
                                             end_turn=False, metadata=meta)
                    thoughts["content"] = {"content_type": "thoughts",
                                           "thoughts": [{"summary": "Plan", "content": "…"}]}
                    writes.append((thoughts, user["id"]))
                    out.append(thoughts)
                    parent_of_answer = thoughts["id"]
                n = sum(1 for node in conv["mapping"].values() if node["message"] and node["message"]["author"]["role"]
                        == "assistant" and node["message"]["channel"] == "final")
                answer = self._message("assistant", [f"Answer {n + 1} to: {text}"], parent_of_answer, metadata=meta)
                writes.append((answer, parent_of_answer))
                out.append(answer)
            handoff = "thinking" in requested or requested == SOCKET_MODEL
            self.commits[conv["conversation_id"]] = (conv, writes, image_after, text)
            if handoff:
                self.handoffs[conv["conversation_id"]] = (user, out)
            return conv["conversation_id"], user, out, handoff

    def commit(self, cid: str) -> None:
        """The stream has ended: the turn joins the saved tree; an image follows a little later."""
        with self.lock:
            conv, writes, image_after, prompt = self.commits.pop(cid)
            for message, parent in writes:
                self._add(conv, message, message["id"], parent)
        if image_after is not None:
            threading.Timer(IMAGE_DELAY_S, self._finish_image, (conv, image_after, prompt)).start()

    def _finish_image(self, conv: dict[str, Any], proc: dict[str, Any], prompt: str) -> None:
        file_id = "file_" + uuid.uuid4().hex[:16]
        part = {"content_type": "image_asset_pointer", "asset_pointer": f"sediment://{file_id}", "size_bytes": len(PNG),
                "width": 2, "height": 2,
                "metadata": {"dalle": {"gen_id": "gen_" + file_id[5:13], "prompt": prompt, "seed": 77},
                             "generation": {"gen_id": "gen_" + file_id[5:13], "width": 2, "height": 2}}}
        image = self._message("tool", [part], proc["id"], content_type="multimodal_text", channel=None,
                              name="t2uay3k.sj1i4kz", metadata={"image_gen_title": "Generated image",
                                                                "resolved_model_slug": "gpt-image-1"})
        with self.lock:
            self._add(conv, image, image["id"], proc["id"])
        if self.push is not None:
            offset = f"{int(time.time() * 1000)}-0"
            self.push(json.dumps([{"type": "message", "topic_id": "conversations", "offset": offset,
                                   "payload": {"type": "conversation-update", "payload": {
                                       "conversation_id": conv["conversation_id"], "update_type": "add-messages",
                                       "messages": [image]}}}]))

    def resume(self, cid: str) -> Iterator[str]:
        with self.lock:
            user, messages = self.handoffs.pop(cid)
        return self.stream(cid, user, messages)

    def handoff(self, cid: str, over_socket: bool) -> Iterator[str]:
        turn_id = uuid.uuid4().hex[:12]
        yield _frame({"type": "stream_handoff", "conversation_id": cid, "turn_exchange_id": turn_id,
                      "options": [{"type": "subscribe_ws_topic", "topic_id": f"conversation-turn-{turn_id}"}]}, None)
        yield _frame("[DONE]", None)
        if over_socket:
            threading.Timer(0.5, self._socket_turn, (cid, turn_id)).start()

    def _socket_turn(self, cid: str, turn_id: str) -> None:
        """The handed-off answer as socket items: catch-ups, a repeat and a swap, then the inner done."""
        if self.push is None:
            return
        with self.lock:
            user, messages = self.handoffs.pop(cid)
        encoded = [f for f in self.stream(cid, user, messages) if "[DONE]" not in f]
        base = int(time.time() * 1000)
        topic = f"conversation-turn-{turn_id}"

        def item(i: int) -> dict[str, Any]:
            return {"type": "message", "topic_id": topic, "offset": f"{base}-{i}",
                    "payload": {"type": "conversation-turn-stream", "payload": {
                        "type": "stream-item", "conversation_id": cid, "turn_id": turn_id, "encoded_item": encoded[i]}}}

        items = [item(i) for i in range(len(encoded))]
        rest = items[2:]
        if len(rest) >= 2:
            rest[0], rest[1] = rest[1], rest[0]
        self.push(json.dumps([{"type": "reply", "reply": {"status": "ok", "catchups": items[:2]}}]))
        self.push(json.dumps([items[1], *rest]))
        self.push(json.dumps([
            {"type": "message", "topic_id": topic, "offset": f"{base}-999", "payload": {
                "type": "conversation-turn-stream", "payload": {"type": "done", "conversation_id": cid,
                                                                "turn_id": turn_id}}},
            {"type": "message", "topic_id": "conversations", "offset": f"{base}-1000", "payload": {
                "type": "conversation-turn-complete", "payload": {"conversation_id": cid, "turn_id": turn_id}}}]))

    def stream(self, cid: str, user: dict[str, Any], messages: list[dict[str, Any]]) -> Iterator[str]:
        yield _frame('"v1"', "delta_encoding")
        yield _frame({"type": "resume_conversation_token", "kind": "topic", "token": "e30.e30.c2ln",
                      "conversation_id": cid}, None)
        yield _frame({"p": "", "o": "add", "v": {"message": user, "conversation_id": cid, "error": None}, "c": 0})
        for i, message in enumerate(messages, start=1):
            start = json.loads(json.dumps(message))
            parts = message["content"].get("parts") or [None]
            text = parts[0] if isinstance(parts[0], str) and message["channel"] == "final" else None
            if text is None:
                yield _frame({"p": "", "o": "add", "v": {"message": start, "conversation_id": cid}, "c": i})
                continue
            start.update(status="in_progress", end_turn=None, content={"content_type": "text", "parts": [""]})
            start["metadata"] = {"parent_id": message["metadata"]["parent_id"]}
            yield _frame({"p": "", "o": "add", "v": {"message": start, "conversation_id": cid}, "c": i})
            rest = {k: v for k, v in message["metadata"].items() if k != "parent_id"}
            yield _frame({"p": "/message/metadata", "o": "append", "v": rest})
            third = max(1, len(text) // 3)
            yield _frame({"p": "/message/content/parts/0", "o": "append", "v": text[:third]})
            time.sleep(0.02)
            yield _frame({"v": text[third: 2 * third]})
            yield _frame({"p": "", "o": "patch", "v": [
                {"p": "/message/content/parts/0", "o": "append", "v": text[2 * third:]},
                {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                {"p": "/message/end_turn", "o": "replace", "v": True},
                {"p": "/message/metadata", "o": "append",
                 "v": {"is_complete": True, "finish_details": {"type": "stop"}}}]})
        self.commit(cid)
        yield _frame({"type": "message_stream_complete", "conversation_id": cid}, None)
        yield _frame("[DONE]", None)

    def select(self, cid: str, node: str) -> bool:
        with self.lock:
            conv = self.conversations.get(cid)
            if conv is None or node not in conv["mapping"]:
                return False
            conv["current_node"] = node
            return True

    def saved(self, cid: str) -> str | None:
        with self.lock:
            conv = self.conversations.get(cid)
            if conv is None:
                return None
            return json.dumps({k: v for k, v in conv.items() if k != "system_id"})
