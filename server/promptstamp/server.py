"""Run the web app under gunicorn (threaded workers) from ``promptstamp serve``.

Work that must happen once per deployment start (first-run key, dev TSA, recovery of interrupted
batches) runs here in the master before workers fork; each worker then builds its own services
(store clients, batcher threads) after the fork, because threads do not survive one.
"""

from __future__ import annotations

import gc
import logging
import runpy
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from . import logs
from .config import Settings
from .errors import ConfigError
from .keyring import load_or_create_key
from .metrics import enable_multiprocess, multiprocess_dir, worker_exited
from .services import build_services, start_dev_tsa
from .startup import TsaCheck, check_data_dir, check_port, check_tsas

log = logging.getLogger(__name__)


def _child_exit(_server: Any, worker: Any) -> None:
    worker_exited(worker.pid)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], config_file: Path | None,
                 tsa_checks: list[TsaCheck]) -> None:
        self._settings = settings
        self._options = options
        self._config_file = config_file
        self._tsa_checks = tsa_checks
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if self._config_file is not None:
            # A gunicorn config file (as for the gunicorn command): its settings win over the defaults here.
            try:
                values = runpy.run_path(str(self._config_file))
            except (OSError, SyntaxError) as e:
                raise ConfigError(f"gunicorn config {self._config_file}: {e}") from e
            for key, value in values.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)
        # Whatever the file says: a dead worker's gauges must leave the metric totals.
        self.cfg.set("child_exit", _child_exit)

    def load(self) -> Any:
        from .web import create_app

        app = create_app(self._settings)
        tune_collector()
        # Every worker reports the same start-up checks: they ran once, here in the master.
        app.config["PROMPTSTAMP_TSA_CHECKS"] = [c.to_json() for c in self._tsa_checks]
        return app


def tune_collector() -> None:
    """In each worker, once its app is built: what exists now lives as long as the worker, so the cyclic
    collector stops walking it (``gc.freeze``), and young collections run every 10,000 allocations rather
    than 700. Array posts allocate a few objects per record and keep few: at the default threshold the
    collector took about a tenth of ingest's CPU (in-process, 200-record arrays: 140 -> 127 us a record)."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def run_server(settings: Settings, *, workers: int, threads: int, config_file: Path | None = None,
               log_format: str = "json") -> None:
    logs.configure(log_format)
    # Before any worker forks and before the first metric exists (metrics.py explains why).
    own_metrics_dir = multiprocess_dir() is None
    metrics_dir = multiprocess_dir() or Path(tempfile.mkdtemp(prefix="promptstamp-metrics-"))
    enable_multiprocess(metrics_dir)
    try:
        _run(settings, workers=workers, threads=threads, config_file=config_file, log_format=log_format)
    finally:
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(settings: Settings, *, workers: int, threads: int, config_file: Path | None, log_format: str) -> None:
    check_data_dir(settings.data_dir)
    check_port(settings.host, settings.port)
    load_or_create_key(settings.resolved_key_file)
    if not settings.tsas:
        dev, _server = start_dev_tsa(settings)
        settings = replace(settings, tsas=(dev,))
        log.warning("no TSA configured: using the built-in development TSA at %s (UNTRUSTED)", dev.url)
    tsa_checks = check_tsas(settings)
    for check in tsa_checks:
        if check.ok:
            log.info("TSA %s (%s): %s in %d ms", check.name, check.url, check.detail, check.millis)
        else:
            log.warning("TSA %s (%s) did not answer at start-up: %s. Records are still accepted and answered "
                        "'pending' until a TSA answers; check PROMPTSTAMP_TSA and the network", check.name,
                        check.url, check.detail)
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
        "accesslog": None,  # the app logs each request once, with its request id (web/observability.py)
        "errorlog": "-",
        "logconfig_dict": logs.logging_config(log_format),
        # One control socket path per user ($HOME/.gunicorn): a second instance on the host would take it over.
        "control_socket_disable": True,
    }, config_file, tsa_checks).run()
