"""Verification of uploads in a separate, bounded process, so that no upload can starve the service.

Each verification runs in its own short-lived process forked from a ``forkserver`` (a clean
interpreter that has already imported the verifier: no threads, locks or request state are inherited
from the web worker, and starting one costs milliseconds). The process lowers its priority
(``nice``), caps its CPU time and address space (``setrlimit``), checks the upload's limits
(``verify_limits.precheck``) and verifies the file from disk, streaming blobs. A fixed number of
slots bounds how many run at once per web worker; a request that finds every slot taken waits a
little, then gets ``Busy`` (429 Too Many Requests). The web worker only waits on a pipe, so its ingest threads keep
the CPU and the GIL.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .errors import Busy, InvalidInput, LimitExceeded, PromptStampError, TooLarge
from .verdict import Trust
from .verify import check_bundle, verify_input
from .verify_limits import DEFAULT_UPLOAD_LIMITS, UploadLimits, precheck
from .zipsafe import ContainerError

MAX_BARE_TOKEN = 1 << 20  # a .tsr/.tst is a few KiB; anything bigger is not one
NICENESS = 10  # below ingest, which keeps the default priority


@dataclass(frozen=True)
class VerifyJob:
    """One upload to verify: the file on disk and what the person verifying gave with it."""

    path: str
    trust: Trust
    stamped: bytes | None = None
    digest_hex: str | None = None
    extra_certs: tuple[bytes, ...] = ()


_ERRORS: dict[str, type[PromptStampError]] = {"too_large": TooLarge, "limit_exceeded": LimitExceeded}
# Said with every limit an upload hits: the limits bound what a stranger's upload costs the service, not the
# evidence, which verifies elsewhere in full (the browser verifier opens up to 200,000 files).
ELSEWHERE = ("; evidence past these limits verifies in your own browser on the /verify page (nothing is "
             "uploaded) or with promptstamp verify on your machine")


def verify_job(job: VerifyJob, limits: UploadLimits) -> dict[str, Any]:
    """The report of one upload as JSON, within ``limits`` (raises TooLarge/LimitExceeded/InvalidInput)."""
    with open(job.path, "rb") as f:
        if f.read(2) == b"PK":
            if job.stamped is not None or job.digest_hex is not None:
                raise InvalidInput("data or digest are for a bare .tsr/.tst; a bundle carries its own data")
            try:
                precheck(f, limits)
            except ContainerError:
                pass  # an unreadable container is the verdict's business: check_bundle reports it
            return check_bundle(f, job.trust, limits=limits.zip_limits()).to_json()
        f.seek(0)
        data = f.read(MAX_BARE_TOKEN + 1)
    if len(data) > MAX_BARE_TOKEN:
        raise TooLarge(f"a bare time-stamp token is at most {MAX_BARE_TOKEN} bytes; this is not a ZIP bundle either")
    return verify_input(data, job.trust, stamped=job.stamped, digest_hex=job.digest_hex,
                        extra_certs=job.extra_certs).to_json()


def _child(conn: Connection, job: VerifyJob, limits: UploadLimits) -> None:
    os.nice(NICENESS)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    try:
        conn.send(("report", verify_job(job, limits)))
    except PromptStampError as e:
        conn.send(("error", e.code, e.detail))
    except MemoryError:
        conn.send(("error", "limit_exceeded",
                   f"verification needed more than the limit of {limits.memory_bytes} bytes of memory"))
    finally:
        conn.close()


class VerifyProcesses:
    """At most ``slots`` verifications at once in this process, each in its own bounded child."""

    def __init__(self, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS, *, slots: int = 1,
                 queue_wait_s: float = 10.0) -> None:
        self.limits = limits
        self.queue_wait_s = queue_wait_s
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._context = mp.get_context("forkserver")
        self._context.set_forkserver_preload(["promptstamp.verify", "promptstamp.verify_process"])

    def run(self, job: VerifyJob) -> dict[str, Any]:
        if not self._slots.acquire(timeout=self.queue_wait_s):
            raise Busy(f"every verification slot stayed busy for {self.queue_wait_s:g} s; try again shortly")
        try:
            return self._run(job)
        finally:
            self._slots.release()

    def _run(self, job: VerifyJob) -> dict[str, Any]:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child, args=(sender, job, self.limits), daemon=True)
        process.start()
        sender.close()
        timed_out = False
        try:
            # CPU time is capped in the child; wall time too, for a child starved or stopped by others.
            timed_out = not receiver.poll(self.limits.cpu_seconds * 3)
            answer = None if timed_out else receiver.recv()
        except EOFError:
            answer = None
        finally:
            receiver.close()
            if answer is None:
                process.kill()
            process.join()
        if answer is None:
            raise LimitExceeded(self._death(process.exitcode, timed_out) + ELSEWHERE)
        if answer[0] == "report":
            result: dict[str, Any] = answer[1]
            return result
        _, code, detail = answer
        if code in _ERRORS:
            raise _ERRORS[code](detail + ELSEWHERE, code=code)
        raise InvalidInput(detail, code=code)

    def _death(self, exitcode: int | None, timed_out: bool) -> str:
        if timed_out:
            return f"verification took longer than {self.limits.cpu_seconds * 3} s and was stopped"
        if exitcode == -signal.SIGXCPU:
            return f"verification used more than the limit of {self.limits.cpu_seconds} s of CPU time"
        return f"verification stopped without an answer (exit {exitcode}); limits: {self.limits.cpu_seconds} s " \
               f"of CPU, {self.limits.memory_bytes} bytes of memory"
