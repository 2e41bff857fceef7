"""A Midjourney stand-in that speaks the live job API (live-traffic-2026.md §2.5).

Every act is POST ``/api/submit-jobs`` with header ``x-csrf-protection: 1`` and a job type ``t``:
imagine carries ``prompt`` (the full command with its flags), vary and upscale name the parent job
and grid image (``id`` + ``index``) and carry no prompt. The answer is ``{success:[{job_id, prompt,
meta:{parent_id}}], failure:[]}``. A job finishes a moment later: GET ``/api/imagine?user_id&page_size``
lists jobs newest first (``id``, ``parent_id``, ``job_type``, ``event_type``, ``full_command``,
``current_status``, ``percentage_complete``, ``enqueue_time``, ``batch_size``, ``width``, ``height``)
and shows it running until then. The page polls that list as the web app does. Results are on
``cdn.midjourney.com``: ``/<job>/0_<i>.png`` (a grid image, or the upscale's one image), each a
distinct PNG so every stored blob can be checked byte for byte.

Requests for other hosts fall through to the other stand-ins: this one answers only its own hosts.
"""

from __future__ import annotations

import datetime
import json
import struct
import threading
import time
import uuid
import zlib
from typing import Any

from flask import Flask, Response, abort, request

MIDJOURNEY_HOST = "www.midjourney.com"
MIDJOURNEY_CDN_HOST = "cdn.midjourney.com"
MIDJOURNEY_USER = "e2e-mj-user-7f3a21"
#: A job shows as running on the list until it is this old (seconds): the poll sees both states.
JOB_SECONDS = 1.5

MIDJOURNEY_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Midjourney</title></head>
<body><main><div id="pageScroll"></div></main>
<script>
const USER = "__USER__";
function show(job) {
  const box = document.createElement("div");
  box.setAttribute("data-job-id", job.id);
  const n = job.job_type.endsWith("_upscale") ? 1 : job.batch_size;
  for (let i = 0; i < n; i++) {
    const img = document.createElement("img");
    img.src = "https://cdn.midjourney.com/" + job.id + "/0_" + i + ".png";
    box.append(img);
  }
  document.getElementById("pageScroll").append(box);
}
async function submit(body) {
  const res = await fetch("/api/submit-jobs", {method: "POST", body: JSON.stringify(Object.assign({
    channelId: "singleplayer_" + USER, f: {mode: "fast", private: false}, roomId: null,
    metadata: {isMobile: null}}, body)),
    headers: {"Content-Type": "application/json", "x-csrf-protection": "1"}});
  const answer = await res.json();
  const id = answer.success[0].job_id;
  // The web app learns of finished jobs and re-reads the list: poll it until this job is done.
  for (let tries = 0; tries < 100; tries++) {
    const list = await (await fetch("/api/imagine?user_id=" + USER + "&page_size=100")).json();
    const job = list.data.find((j) => j.id === id);
    if (job && job.current_status === "completed") { show(job); return id; }
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error("job " + id + " did not finish");
}
window.imagine = (prompt) => submit({t: "imagine", prompt});
window.vary = (id, index) => submit({t: "vary", id, index, strong: true});
window.upscale = (id, index) => submit({t: "upscale", id, index, type: "v7_2x_subtle"});
</script></body></html>
"""


def grid_png(job_id: str, index: int) -> bytes:
    """A 1x1 PNG whose colour and text chunk are the job's and the image's own (RFC 2083)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    seed = zlib.crc32(f"{job_id}/{index}".encode())
    pixel = bytes([0, seed & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", f"Comment\x00{job_id}/{index}".encode()) + chunk(b"IDAT", zlib.compress(pixel))
            + chunk(b"IEND", b""))


class MidjourneyStandIn:
    """Jobs in memory, each finishing JOB_SECONDS after it was submitted."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("t")
        with self.lock:
            if kind == "imagine":
                command, parent, job_type, batch = str(body["prompt"]), None, "v7_diffusion", 4
            elif kind in ("vary", "upscale"):
                parent_job = next((j for j in self.jobs if j["id"] == body.get("id")), None)
                if parent_job is None or not isinstance(body.get("index"), int):
                    return {"success": [], "failure": [{"type": "invalid", "message": "Unknown parent job"}]}
                command, parent = parent_job["full_command"], parent_job["id"]
                job_type, batch = ("v7_variation", 4) if kind == "vary" else ("v7_upscale", 1)
            else:
                return {"success": [], "failure": [{"type": "invalid", "message": f"Unknown job type {kind}"}]}
            job = {"id": str(uuid.uuid4()), "parent_id": parent, "job_type": job_type,
                   "event_type": job_type.split("_")[1], "full_command": command, "batch_size": batch,
                   "width": 1456, "height": 968,
                   "enqueue_time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                   "submitted": time.monotonic()}
            self.jobs.append(job)
            return {"success": [{"job_id": job["id"], "prompt": command, "meta": {"parent_id": parent}}], "failure": []}

    def listing(self) -> dict[str, Any]:
        now = time.monotonic()
        with self.lock:
            data = []
            for job in reversed(self.jobs):
                done = now - job["submitted"] >= JOB_SECONDS
                item = {k: v for k, v in job.items() if k != "submitted"}
                item.update(current_status="completed" if done else "running", percentage_complete=100 if done else 50)
                data.append(item)
        return {"data": data, "cursor": None}

    def image(self, job_id: str, index: int) -> bytes | None:
        with self.lock:
            job = next((j for j in self.jobs if j["id"] == job_id), None)
        if job is None or time.monotonic() - job["submitted"] < JOB_SECONDS:
            return None
        count = 1 if job["job_type"].endswith("_upscale") else int(job["batch_size"])
        return grid_png(job_id, index) if 0 <= index < count else None


def register_midjourney(app: Flask) -> None:
    midjourney = MidjourneyStandIn()
    app.extensions["midjourney"] = midjourney

    @app.before_request
    def midjourney_hosts() -> Response | None:
        host = request.host.split(":")[0]
        if host == MIDJOURNEY_CDN_HOST:
            parts = request.path.strip("/").split("/")
            name = parts[-1]
            if request.method != "GET" or len(parts) != 2 or not name.startswith("0_") or not name.endswith(".png"):
                abort(404)
            try:
                index = int(parts[1][2:-4])
            except ValueError:
                abort(404)
            data = midjourney.image(parts[0], index)
            if data is None:
                abort(404)
            return Response(data, mimetype="image/png")
        if host != MIDJOURNEY_HOST:
            return None
        if request.method == "GET" and request.path in ("/imagine", "/create"):
            return Response(MIDJOURNEY_PAGE.replace("__USER__", MIDJOURNEY_USER), mimetype="text/html")
        if request.method == "POST" and request.path == "/api/submit-jobs":
            if request.headers.get("x-csrf-protection") != "1":
                abort(403)
            return Response(json.dumps(midjourney.submit(request.get_json(force=True))), mimetype="application/json")
        if request.method == "GET" and request.path == "/api/imagine":
            if request.args.get("user_id") != MIDJOURNEY_USER:
                abort(403)
            return Response(json.dumps(midjourney.listing()), mimetype="application/json")
        abort(404)
