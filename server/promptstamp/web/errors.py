"""The one place where errors become HTTP answers: JSON ``{"error": code, "detail": text}``."""

from __future__ import annotations

import errno
import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import (
    Busy,
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PromptStampError,
    StorageError,
    TimestampError,
    TooLarge,
    Unauthorized,
)

log = logging.getLogger(__name__)

# Most specific first: ObjectMissing is both a StorageError and a NotFound, and must answer 404.
STATUS: list[tuple[type[PromptStampError], int]] = [
    (NotFound, 404), (TooLarge, 413), (LimitExceeded, 422), (InvalidInput, 400), (Busy, 429),
    (Unauthorized, 401), (Conflict, 409),
    (TimestampError, 503), (StorageError, 503),
]


# What a failing disk or bucket means to a client, without the server's paths or bucket names.
_STORE_ERRNO = {
    errno.ENOSPC: "the evidence store is full", errno.EDQUOT: "the evidence store is over its quota",
    errno.EROFS: "the evidence store is read-only", errno.EACCES: "the evidence store is not writable",
    errno.EPERM: "the evidence store is not writable", errno.EIO: "the evidence store had an I/O error",
}


def _store_failure(e: BaseException) -> str | None:
    """A plain reason when ``e`` (or its cause) is an operating-system failure of the store."""
    seen = 0
    while e is not None and seen < 8:
        if isinstance(e, OSError) and e.errno in _STORE_ERRNO:
            return _STORE_ERRNO[e.errno]
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
        seen += 1
    return None


def _unavailable(reason: str) -> Response:
    response = error_response("storage_unavailable", f"{reason}; nothing was acknowledged, try again later", 503)
    response.headers["Retry-After"] = "30"
    return response


def error_response(code: str, detail: str, status: int, **extra: object) -> Response:
    response = jsonify({"error": code, "detail": detail, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="promptstamp"'
    if status in (429, 503):
        response.headers["Retry-After"] = "5"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(PromptStampError)
    def _domain_error(e: PromptStampError) -> Response:
        status = next((s for cls, s in STATUS if isinstance(e, cls)), 500)
        if status >= 500:
            log.error("request failed: %s", e.detail)
        if isinstance(e, StorageError) and status == 503:
            # The detail names paths and buckets: it goes to the log, the client gets the reason.
            return _unavailable(_store_failure(e) or "the evidence store failed")
        extra = {"index": e.index} if e.index is not None else {}
        return error_response(e.code, e.detail, status, **extra)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Response:
        status = e.code or 500
        code = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        detail = e.description or e.name
        if status == 413:
            detail = f"request body exceeds the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        return error_response(code, detail, status)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        reason = _store_failure(e)
        if reason is not None:
            log.error("storage failed: %s", e)
            return _unavailable(reason)
        log.exception("unexpected error")
        return error_response("internal", "internal error; nothing was acknowledged", 500)
