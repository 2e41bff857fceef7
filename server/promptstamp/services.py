"""Wiring: build the store, keys, TSA clients and ledger from Settings, and run background upkeep.

Shared by the web app and the CLI. When no TSA is configured, the built-in development TSA is
started on a loopback port and used; every output labels its tokens untrusted.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from .accounts import Accounts
from .authorship import Authorship
from .config import Settings, TsaConfig
from .devtsa import DevTsa
from .keyring import Keyring, load_or_create_key
from .ledger import Ledger
from .storage import ObjectStore
from .storage.factory import open_store
from .timestamping import TsaClient
from .verify_process import VerifyProcesses

log = logging.getLogger(__name__)
DEV_TSA_NAME = "devtsa"


def dev_tsa_dir(settings: Settings) -> Path:
    return settings.data_dir / "devtsa"


def start_dev_tsa(settings: Settings, host: str = "127.0.0.1", port: int = 0) -> tuple[TsaConfig, DevTsa]:
    """Start the built-in TSA in a daemon thread; returns its TsaConfig and the TSA (to shut down)."""
    tsa = DevTsa.load_or_create(dev_tsa_dir(settings))
    tsa.serve(host, port)
    return tsa.tsa_config(DEV_TSA_NAME), tsa


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    keyring: Keyring
    accounts: Accounts
    ledger: Ledger
    authorship: Authorship
    # Uploaded evidence is verified in bounded child processes, never in the threads that ingest.
    verifier: VerifyProcesses = field(default_factory=VerifyProcesses)
    _stop: threading.Event = field(default_factory=threading.Event)
    _dev_tsas: list[DevTsa] = field(default_factory=list)
    _upkeep: threading.Thread | None = None

    def start_upkeep(self) -> None:
        """Until closed: retry pending batches every retry interval, and every recovery interval finish
        batches that another worker or instance left behind (it crashed mid-seal, or died while its
        batch waited for a TSA)."""
        def loop() -> None:
            next_recovery = time.monotonic() + self.settings.recovery_interval_s
            next_renewal = time.monotonic() + min(self.settings.renew_check_s, 60.0)  # soon after start
            while not self._stop.wait(self.settings.retry_interval_s):
                try:
                    self.ledger.sealer.retry_pending()
                    if time.monotonic() >= next_recovery:
                        next_recovery = time.monotonic() + self.settings.recovery_interval_s
                        self.recover()
                    if self.settings.renew_check_s and time.monotonic() >= next_renewal:
                        next_renewal = time.monotonic() + self.settings.renew_check_s
                        self.renew()
                except Exception:  # keep going: one failed round must not stop the loop
                    log.exception("upkeep round failed")
        self._upkeep = threading.Thread(target=loop, name="promptstamp-upkeep", daemon=True)
        self._upkeep.start()

    def recover(self) -> dict[str, int]:
        report = self.ledger.recover(min_age_s=self.settings.recovery_grace_s)
        if report["finished"]:
            log.info("recovered interrupted batches: %s", report)
        return report

    def renew(self) -> None:
        """Archive time-stamps once due (``renewal``); one instance per day does it (a claimed object)."""
        run = self.ledger.renewals.renew(claim=True)
        if run is not None:
            log.info("renewed the proof of %d batches and %d earlier renewals (TSA %s)",
                     sum(s.count for s in run.segments if s.kind == "batches"), len(run.renews), run.tsa)

    def close(self) -> None:
        self._stop.set()
        if self._upkeep is not None:
            self._upkeep.join(5)
        self.ledger.close()
        for tsa in self._dev_tsas:
            tsa.shutdown()


def build_services(settings: Settings, *, recover: bool = True, upkeep: bool = True) -> Services:
    dev_tsas: list[DevTsa] = []
    if not settings.tsas:
        dev, tsa = start_dev_tsa(settings)
        dev_tsas.append(tsa)
        settings = replace(settings, tsas=(dev,))
    store = open_store(settings)
    keyring = Keyring(store, load_or_create_key(settings.resolved_key_file))
    accounts = Accounts(store)
    ledger = Ledger(store, keyring, accounts, [TsaClient(t) for t in settings.tsas],
                    batch_window_s=settings.batch_window_ms / 1000, batch_max=settings.batch_max,
                    max_records_per_post=settings.max_records_per_post,
                    renew_margin=timedelta(days=settings.renew_margin_days))
    services = Services(settings=settings, store=store, keyring=keyring, accounts=accounts, ledger=ledger,
                        authorship=Authorship(ledger, accounts, keyring),
                        verifier=VerifyProcesses(slots=settings.verify_slots), _dev_tsas=dev_tsas)
    if recover:
        services.recover()
    if upkeep:
        services.start_upkeep()
    return services
