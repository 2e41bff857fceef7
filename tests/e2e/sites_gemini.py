"""A Gemini stand-in that speaks the live wire format (live-traffic-2026.md §2.3).

The page posts each turn to ``…/BardFrontendService/StreamGenerate`` as a form (``f.req`` =
``[null, "<inner JSON>"]``, the prompt at inner ``[0][0]``, the followed turn ``[c_, r_, rc_]`` at
inner ``[2]``, the XSRF token in ``at``) with the model in the ``x-goog-ext-525001261-jspb`` header.
The answer is ``)]}'`` and then length lines and JSON lines whose declared lengths are deliberately
wrong, with cumulative ``wrb.fr`` snapshots of the drafts: ``[1]`` = ``[c_, r_]``, ``[4]`` = drafts,
a draft's text at ``[1][0]``, its reasoning at ``[37][0][0]``, done when ``[8][0] == 2``. A redo (the
same prompt after the same turn) answers a new draft ``rc_`` under the same ``r_``. A prompt that
asks for a picture answers a generated image at ``[12][7][0][i][0][3][3]`` on the image host, with a
``http://googleusercontent.com/image_generation_content/<n>`` placeholder in the text. On loading
``/app/<id>`` the page reads the saved chat with batchexecute ``hNvQHb``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, abort, request

from .sites import PNG

GEMINI_HOST = "gemini.google.com"
GEMINI_IMAGE_HOST = "lh3.googleusercontent.com"
GEMINI_MODEL_HEADER = '[1,null,null,null,"71c2d248d3b102ff",null,null,0,[4]]'
XSRF = "AJvLN6Mq3x:1764990000000"
STREAM_PATH = "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate"

GEMINI_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Gemini</title></head>
<body><main><div id="chat" class="conversation-container"></div></main>
<script>
const MODEL = __MODEL__, AT = "__AT__";
let conv = (location.pathname.match(/^\\/app\\/([0-9a-f]+)/) || [])[1];
conv = conv ? "c_" + conv : "";
let lastR = "", lastRc = "", lastPrompt = null, lastParent = ["", "", ""], reqid = 1000;
function render(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  document.getElementById("chat").append(el);
}
async function turn(prompt, parent) {
  const inner = JSON.stringify([[prompt, 0, null, null, null, null, 0], ["en"], parent, "!opaque", null, null, [1], 1]);
  const body = new URLSearchParams({"f.req": JSON.stringify([null, inner]), at: AT}).toString();
  const res = await fetch("__STREAM__?bl=boq_assistant-bard-web-server&_reqid=" + (reqid += 100000) + "&rt=c", {
    method: "POST", body,
    headers: {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8", "x-goog-ext-525001261-jspb": MODEL}});
  let shown = "";
  for (const line of (await res.text()).split("\\n")) {
    if (!line.startsWith("[")) continue;  // the declared lengths are not to be trusted: read lines
    for (const entry of JSON.parse(line)) {
      if (entry[0] !== "wrb.fr" || typeof entry[2] !== "string") continue;
      const p = JSON.parse(entry[2]);
      if (!p) continue;
      if (p[1]) { conv = p[1][0]; lastR = p[1][1]; }
      if (p[4]) { lastRc = p[4][0][0]; shown = p[4][0][1][0]; }
    }
  }
  render("model-response", shown);
  if (!location.pathname.startsWith("/app/")) history.pushState({}, "", "/app/" + conv.slice(2));
}
window.send = (text) => {
  lastParent = conv ? [conv, lastR, lastRc] : ["", "", ""];
  lastPrompt = text;
  render("user-query", text);
  return turn(text, lastParent);
};
window.regenerate = () => turn(lastPrompt, lastParent);
if (conv) {
  const rpc = [[["hNvQHb", JSON.stringify([conv, 10, null, 1, [0], [4], null, 1]), null, "generic"]]];
  fetch("/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=" + encodeURIComponent(location.pathname) + "&rt=c",
    {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
     body: new URLSearchParams({"f.req": JSON.stringify(rpc), at: AT}).toString()}).then(r => r.text());
}
</script></body></html>
""".replace("__MODEL__", json.dumps(GEMINI_MODEL_HEADER)).replace("__AT__", XSRF).replace("__STREAM__", STREAM_PATH)


def _draft(rc: str, text: str, *, done: bool, image: str | None = None) -> list[Any]:
    draft: list[Any] = [None] * 38
    draft[0], draft[1], draft[8] = rc, [text], [2 if done else 1]
    draft[37] = [["Planning the answer before writing it."]]  # reasoning: never the answer
    if image:
        media: list[Any] = [None] * 8
        media[7] = [[[[None, None, None, [None, None, None, image]], ["image", "1024x1024"]]]]
        draft[12] = media
    return draft


def _lines(entries: list[list[Any]]) -> str:
    line = json.dumps(entries)
    return f"{len(line) + 9}\n{line}\n"  # a declared length that does not match, as on the live site


class GeminiStandIn:
    """Conversations as lists of turns: response id, followed turn, prompt, drafts, chosen draft."""

    def __init__(self) -> None:
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def turn(self, prompt: str, parent: list[str]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        with self.lock:
            conv = parent[0] if parent and parent[0] else "c_" + secrets.token_hex(8)
            turns = self.conversations.setdefault(conv, [])
            followed = list(parent) if parent and parent[0] else ["", "", ""]
            same = next((t for t in turns if t["prompt"] == prompt and t["followed"] == followed), None)
            t = same or {"response": "r_" + secrets.token_hex(8), "followed": followed, "prompt": prompt,
                         "drafts": [], "created": int(time.time())}
            if same is None:
                turns.append(t)
            n = sum(len(x["drafts"]) for x in turns) + 1
            image = None
            text = f"Draft {n} for: {prompt}"
            if "picture" in prompt.lower():
                image = f"https://{GEMINI_IMAGE_HOST}/gg-dl/AOI_{secrets.token_hex(6)}=s1024-rj"
                text += " http://googleusercontent.com/image_generation_content/0"
            # Not done until its stream ends: a read of the chat meanwhile shows it unfinished.
            draft = {"rc": "rc_" + secrets.token_hex(8), "text": text, "image": image, "done": False}
            t["drafts"].append(draft)
            t["chosen"] = draft["rc"]
            return conv, t, draft

    def stream(self, conv: str, t: dict[str, Any], draft: dict[str, Any]) -> Iterator[str]:
        yield ")]}'\n\n"
        text = draft["text"]
        for cut, done in ((len(text) // 3, False), (2 * len(text) // 3, False), (len(text), True)):
            payload = [None, [conv, t["response"]], None, None,
                       [_draft(draft["rc"], text[:cut], done=done, image=draft["image"] if done else None)]]
            yield _lines([["wrb.fr", None, json.dumps(payload)]])
            time.sleep(0.03)
        yield _lines([["di", 91], ["af.httprm", 90, "-3719", 7]])
        with self.lock:
            draft["done"] = True

    def read_chat(self, conv: str) -> str:
        with self.lock:
            turns = self.conversations.get(conv, [])
            listed = [[[conv, t["response"]], t["followed"], [[t["prompt"]]],
                       [[_draft(d["rc"], d["text"], done=d["done"], image=d["image"]) for d in t["drafts"]], None, None,
                        t["chosen"]], [t["created"], 0]] for t in reversed(turns)]
        return ")]}'\n\n" + _lines([["wrb.fr", "hNvQHb", json.dumps([listed]), None, None, None, "generic"]])


def register_gemini(app: Flask) -> None:
    gemini = GeminiStandIn()
    app.extensions["gemini"] = gemini

    def host() -> str:
        return request.host.split(":")[0]

    @app.get("/app")
    @app.get("/app/<cid>")
    def gemini_page(cid: str | None = None) -> Response:
        if host() != GEMINI_HOST:
            abort(404)
        return Response(GEMINI_PAGE, mimetype="text/html")

    def form() -> dict[str, list[str]]:
        fields = parse_qs(request.get_data(as_text=True))
        if fields.get("at") != [XSRF]:
            abort(400)
        return fields

    @app.post(STREAM_PATH)
    def gemini_stream() -> Response:
        outer = json.loads(form()["f.req"][0])
        inner = json.loads(outer[1])
        conv, t, draft = gemini.turn(inner[0][0], inner[2])
        return Response(gemini.stream(conv, t, draft), mimetype="application/json")

    @app.post("/_/BardChatUi/data/batchexecute")
    def gemini_batchexecute() -> Response:
        if request.args.get("rpcids") != "hNvQHb":
            abort(404)
        rpc = json.loads(form()["f.req"][0])
        conv = json.loads(rpc[0][0][1])[0]
        return Response(gemini.read_chat(conv), mimetype="application/json")

    @app.get("/gg-dl/<name>")
    def gemini_image(name: str) -> Response:
        if host() != GEMINI_IMAGE_HOST or not name.endswith("=s2048-rj"):
            abort(404)  # only the full-size form the adapter asks for
        return Response(PNG, mimetype="image/png")
