"""Run the web app under gunicorn (threaded workers) from ``promptstamp serve``.

Work that must happen once per deployment start (first-run key, dev TSA, recovery of interrupted
batches) runs here in the master before workers fork; each worker then builds its own services
(store clients, batcher threads) after the fork, because threads do not survive one.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Settings
from .keyring import load_or_create_key
from .services import build_services, start_dev_tsa

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .web import create_app

        return create_app(self._settings)


def run_server(settings: Settings, *, workers: int, threads: int) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_key(settings.resolved_key_file)
    if not settings.tsas:
        dev, _server = start_dev_tsa(settings)
        settings = replace(settings, tsas=(dev,))
        log.warning("no TSA configured: using the built-in development TSA at %s (UNTRUSTED)", dev.url)
    services = build_services(settings, recover=True, upkeep=False)
    services.close()
    url = f"http://{settings.host}:{settings.port}/"
    print(f"PromptStamp listening on {url}  (storage: {services.store.describe()})", flush=True)
    _Gunicorn(settings, {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 30,
        "accesslog": None,
        "errorlog": "-",
    }).run()
