"""Structured logs: one JSON object per line, carrying the request id of the request being served.

The web layer sets the request id (``request_id_var``) for the duration of a request; every log
line written meanwhile, by any module, carries it, so an operator can follow one request across
the access line, warnings and errors. Log shippers parse one JSON object per line without a
multi-line pattern, which matters for tracebacks.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("promptstamp_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and belongs in the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 and C1 controls and DEL: a newline in a logged URL or name must not start a forged line.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}


class TextFormatter(logging.Formatter):
    """The plain-text format with every control character escaped, except in tracebacks (ours, multi-line)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return super().formatMessage(record).translate(_CONTROLS)


def logging_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for the service (also given to gunicorn as ``logconfig_dict``,
    so its own master and worker messages come out in the same format)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', found {fmt!r}")
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if fmt == "json"
                                 else {"()": f"{__name__}.TextFormatter", "fmt": TEXT_FORMAT})
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["default"], "propagate": False},
            # Requests are logged once, by the app (with the request id); gunicorn's access log stays off.
            "gunicorn.access": {"level": "WARNING", "handlers": ["default"], "propagate": False},
        },
    }


def configure(fmt: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
