"""A ChatGPT stand-in whose answers never come: the saved conversation holds the user's prompt and
nothing under it, as when an answer failed to stream or the adapter missed it. Served under
chatgpt.com, it drives the extension's no-answer check end to end.

The conversation shape is the site's own (``mapping`` tree, ``current_node``; capture-sites.md §1)
and the signed-in user is ``GET /backend-api/me`` (id, name, email), as ChatGPT's web client reads it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, abort, request

# A conversation whose id starts so is shown with more turns than its saved history holds (a page
# ahead of what was captured); its one prompt is an hour old, so no answer is awaited.
AHEAD_PREFIX = "aaaaaaaa"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main></main>
<script>fetch(location.pathname.replace("/c/", "/backend-api/conversation/")).then(r => r.text());</script>
</body></html>
"""


AHEAD_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ChatGPT</title></head>
<body><main>
<article><div data-message-author-role="user">Paint a harbour at dawn in gouache</div></article>
<article><div data-message-author-role="assistant">A harbour at dawn: pale gouache washes, two boats.</div></article>
<article><div data-message-author-role="user">Now at dusk, please</div></article>
</main>
<script>fetch(location.pathname.replace("/c/", "/backend-api/conversation/")).then(r => r.text());</script>
</body></html>
"""


def stalled_conversation(cid: str, prompt: str, age_s: float = 0.0) -> dict[str, Any]:
    root = "client-created-root"
    user = {"id": f"{cid[:8]}-user-0001", "author": {"role": "user", "name": None, "metadata": {}},
            "create_time": time.time() - age_s, "content": {"content_type": "text", "parts": [prompt]},
            "status": "finished_successfully", "end_turn": None, "weight": 1.0, "metadata": {}, "recipient": "all"}
    return {"conversation_id": cid, "title": "Unanswered", "current_node": user["id"], "mapping": {
        root: {"id": root, "message": None, "parent": None, "children": [user["id"]]},
        user["id"]: {"id": user["id"], "message": user, "parent": root, "children": []},
    }}


def create_stalled_app() -> Flask:
    app = Flask(__name__)

    @app.get("/c/<cid>")
    def page(cid: str) -> Response:
        if request.host.split(":")[0] != "chatgpt.com":
            abort(404)
        return Response(AHEAD_PAGE if cid.startswith(AHEAD_PREFIX) else PAGE, mimetype="text/html")

    @app.get("/backend-api/conversation/<cid>")
    def conversation(cid: str) -> Response:
        body = stalled_conversation(cid, "Paint a harbour at dawn in gouache",
                                    age_s=3600.0 if cid.startswith(AHEAD_PREFIX) else 0.0)
        return Response(json.dumps(body), mimetype="application/json")

    @app.get("/backend-api/me")
    def me() -> Response:
        return Response(json.dumps({"object": "user", "id": "user-e2e0000000000000000000000",
                                    "name": "E2E Creator", "email": "creator@example.com"}),
                        mimetype="application/json")

    return app
