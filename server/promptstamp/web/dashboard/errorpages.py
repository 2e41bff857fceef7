"""Errors on pages answer in HTML; the API keeps its JSON errors (web/errors.py, same status codes)."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

from ...errors import NotFound, PromptStampError
from ..errors import STATUS

log = logging.getLogger(__name__)

TITLES = {400: "Not understood", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
          405: "Not allowed", 409: "Conflict", 413: "Too large", 503: "Unavailable"}


def http_error(e: HTTPException) -> tuple[str, int]:
    status = e.code or 500
    return render_template("error.html", title=TITLES.get(status, e.name), detail=e.description or e.name), status


def domain_error(e: PromptStampError) -> tuple[str, int]:
    status = next((s for cls, s in STATUS if isinstance(e, cls)), 500)
    if status >= 500:
        log.error("page failed: %s", e.detail)
    detail = e.detail
    if isinstance(e, NotFound):
        detail = "There is nothing under that name in your account."  # never hint at other accounts' data
    return render_template("error.html", title=TITLES.get(status, "Something went wrong"), detail=detail), status


def install(bp: Blueprint) -> None:
    """Call at import time: Flask refuses handlers added after a blueprint's first registration."""
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(PromptStampError, domain_error)
