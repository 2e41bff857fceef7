"""Request ids, one JSON access line per request, and Prometheus metrics at ``/metrics``.

A request id given by a proxy (``X-Request-Id``) is kept when it is short and plain, so one id
follows a request through the load balancer and here; otherwise one is made. It is echoed in the
response, so a user reporting a failure can quote it.
"""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter

from flask import Blueprint, Flask, Response, g, request

from ..logs import request_id_var
from ..metrics import process_metrics

log = logging.getLogger("promptstamp.access")
bp = Blueprint("observability", __name__)

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes arrive every few seconds from every replica; logging them at INFO buries requests.
_QUIET_PATHS = frozenset({"/healthz", "/metrics"})


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = process_metrics().exposition()
    return Response(body, content_type=content_type)


READY_MESSAGE = "worker ready"


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    # Logged once the app (and its start-up recovery) is built: tools wait for one line per worker.
    logging.getLogger("promptstamp.web").info(READY_MESSAGE)

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        g.request_id = request_id
        request_id_var.set(request_id)
        g.request_started = perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("request_started")
        seconds = perf_counter() - started if started is not None else 0.0
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"  # bounded label values
        process_metrics().request_done(request.method, endpoint, response.status_code, seconds)
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        level = logging.DEBUG if request.path in _QUIET_PATHS and response.status_code < 400 else logging.INFO
        log.log(level, "%s %s %d", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2), "bytes_in": request.content_length or 0,
            "remote": request.remote_addr})
        return response

    @app.teardown_request
    def _clear(_: BaseException | None) -> None:
        # gthread workers reuse threads: the next request on this one must not inherit the id.
        request_id_var.set(None)
