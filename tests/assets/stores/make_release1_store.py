"""Writes ``release1/``: a data directory made by the release before batch packs (one object per
record and per receipt, per-batch session index objects, journal.json, tokens/ and done), with
two finished sessions and one batch whose seal was interrupted after its journal.

Run it with the previous release's package on the path, from this directory:
    git archive d6e711a server tests | tar -x -C /tmp/release1
    PYTHONPATH=/tmp/release1/server:/tmp/release1/tests python make_release1_store.py
The test that reads the store (tests/integration/test_previous_layout.py) copies it first, since
reading it finishes the interrupted batch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from factories import Chain, attachment, png
from promptstamp.config import Settings
from promptstamp.errors import StorageError
from promptstamp.services import build_services

HERE = Path(__file__).resolve().parent
OUT = HERE / "release1"


class CrashBeforeRecords:
    def __init__(self, inner: object) -> None:
        self.inner = inner

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> set[str]:
        if any(key.startswith("a/") and "/records/" in key for key, _ in items):
            raise StorageError("simulated crash")
        return self.inner.put_many(items)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    svc = build_services(Settings(data_dir=OUT, batch_window_ms=20, recovery_grace_s=0), upkeep=False)
    account, token = svc.accounts.create("Ada")
    image = png()
    svc.ledger.put_blob(account.id, "sha256:" + hashlib.sha256(image).hexdigest(), image, "image/png")
    first = Chain(session_id="teacup-cat")
    records = [first.next(text="a watercolour cat in a teacup"),
               first.next("output", actor="ai", text="Here is your cat.",
                          attachments=[attachment(image)]),
               first.next(text="a watercolour cat in a porcelain teacup")]
    for record in records:  # one batch each
        svc.ledger.ingest(account.id, record)
    second = Chain(site="claude", session_id="lighthouse")
    svc.ledger.ingest(account.id, [second.next(text="a lighthouse in fog"), second.next(text="at dawn")])
    interrupted = Chain(session_id="interrupted")
    pending = [interrupted.next(text="written as the process died"), interrupted.next(text="and this")]
    svc.ledger.sealer._store = CrashBeforeRecords(svc.store)  # type: ignore[assignment]  # noqa: SLF001
    try:
        svc.ledger.ingest(account.id, pending)
    except StorageError:
        pass
    svc.close()
    (OUT / "fixture.json").write_text(json.dumps({
        "account": account.id, "token": token, "written_by": "PromptStamp before batch packs (commit d6e711a)",
        "sessions": {"chatgpt/teacup-cat": [r["id"] for r in records],
                     "claude/lighthouse": None, "chatgpt/interrupted": [r["id"] for r in pending]},
        "records": {r["id"]: r for r in [*records, *pending]},
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
