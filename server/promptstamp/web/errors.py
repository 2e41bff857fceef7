"""The one place where errors become HTTP answers: JSON ``{"error": code, "detail": text}``."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import (
    Conflict,
    InvalidInput,
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
    (NotFound, 404), (TooLarge, 413), (InvalidInput, 400), (Unauthorized, 401), (Conflict, 409),
    (TimestampError, 503), (StorageError, 503),
]


def error_response(code: str, detail: str, status: int, **extra: object) -> Response:
    response = jsonify({"error": code, "detail": detail, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="promptstamp"'
    return response


def register(app: Flask) -> None:
    @app.errorhandler(PromptStampError)
    def _domain_error(e: PromptStampError) -> Response:
        status = next((s for cls, s in STATUS if isinstance(e, cls)), 500)
        if status >= 500:
            log.error("request failed: %s", e.detail)
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
        log.exception("unexpected error")
        return error_response("internal", "internal error; nothing was acknowledged", 500)
