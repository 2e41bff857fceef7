"""Sealing batches: Merkle tree, signed receipts, durable journal, then RFC 3161 tokens.

Order of a seal (each step durable before the next):
1. build the RFC 9162 tree over the batch's record digests and sign one receipt per record;
2. write the journal (records and signed receipts, the whole batch) and batch.json: from here on a
   crash loses nothing, recovery finishes the job from the journal;
3. ask every TSA for a token over the root (in parallel with 4) and write records, receipts and
   index entries; a key that is already taken means the same record was stored before, and the
   stored receipt wins, so a record never gets two receipts;
4. write the tokens, then ``done``. If every TSA failed the batch stays pending; a background loop
   (and start-up recovery) retries until one answers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from . import layout
from .batcher import Pending
from .canonical import canonicalize, digest_bytes
from .errors import Conflict, ObjectMissing, TimestampError
from .keyring import Keyring
from .merkle import MerkleTree
from .metrics import process_metrics
from .model import BatchRef, Receipt, Record, drift_adapter_label, new_ulid, ulid_time_ms, utc_now
from .signing import b64, der_to_pem
from .storage import ObjectStore
from .timestamping import StampedToken, TsaClient
from .tokens import token_info

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    account: str
    record: Record
    device_key: str | None
    received_at: str
    device_sig: str | None = None  # base64 Ed25519 over JCS(record), verified at ingest; kept in the receipt


@dataclass(frozen=True)
class TokenView:
    tsa: str
    token: bytes
    gen_time: str
    untrusted: bool

    def to_json(self) -> dict[str, object]:
        return {"tsa": self.tsa, "token": b64(self.token), "gen_time": self.gen_time, "untrusted": self.untrusted}


@dataclass(frozen=True)
class Outcome:
    """What a submitter gets back: its receipt (exact stored bytes) and the batch's tokens."""

    receipt: bytes
    batch_id: str
    tokens: tuple[TokenView, ...]

    @property
    def status(self) -> str:
        return "stamped" if self.tokens else "pending"


def token_view(tsa: str, der: bytes, untrusted: bool) -> TokenView:
    gen_time = token_info(der).gen_time
    return TokenView(tsa=tsa, token=der, gen_time=gen_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), untrusted=untrusted)


class BatchSealer:
    def __init__(self, store: ObjectStore, keyring: Keyring, tsas: Sequence[TsaClient]) -> None:
        self._store = store
        self._keyring = keyring
        self._tsas = list(tsas)
        # Two pools so that a stamping task never waits for a TSA call queued behind it in its own pool.
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stamp")
        self._tsa_pool = ThreadPoolExecutor(max_workers=8 * max(1, len(self._tsas)), thread_name_prefix="tsa")
        self._pending: dict[str, bytes] = {}  # batch id -> root, batches waiting for any TSA
        self._recovered_upto: str | None = None  # last key of the last batch known finished
        self._pending_sizes: dict[str, int] = {}  # batch id -> records, for the pending-records metric
        self._metrics = process_metrics()
        self._lock = threading.Lock()
        self.tsa_requests = 0
        self.tsa_failures = 0

    # -- sealing ---------------------------------------------------------------------------------

    def seal(self, batch: Sequence[Pending[Submission, Outcome]]) -> None:
        unique: dict[tuple[str, str], Pending[Submission, Outcome]] = {}
        followers: list[tuple[Pending[Submission, Outcome], Pending[Submission, Outcome]]] = []
        for p in batch:
            ident = (p.item.account, p.item.record.id)
            first = unique.get(ident)
            if first is None:
                unique[ident] = p
            elif first.item.record.digest == p.item.record.digest:
                followers.append((p, first))
            else:
                p.future.set_exception(Conflict(
                    f"record {p.item.record.id} was sent twice at once with different content", code="conflict"))
        members = list(unique.values())
        batch_id = new_ulid()
        tree = MerkleTree([p.item.record.digest_raw for p in members])
        root = "sha256:" + tree.root.hex()
        sealed_at = utc_now()
        key = self._keyring.signing_key
        receipts: list[bytes] = []
        for index, p in enumerate(members):
            unsigned = Receipt(
                record=p.item.record.digest, record_id=p.item.record.id, account=p.item.account,
                received_at=p.item.received_at,
                batch=BatchRef(id=batch_id, root=root, size=tree.size, index=index,
                               proof=tuple(n.hex() for n in tree.proof(index))),
                device_key=p.item.device_key, key=key.id, device_sig=p.item.device_sig,
            )
            signed = dataclasses.replace(unsigned, sig=b64(key.sign(unsigned.signed_bytes())))
            receipts.append(signed.canonical())
        batch_doc = {"v": 1, "id": batch_id, "root": root, "size": tree.size, "sealed_at": sealed_at}
        journal = {**batch_doc, "entries": [
            {"account": p.item.account, "record": p.item.record.canonical.decode(), "receipt": r.decode()}
            for p, r in zip(members, receipts, strict=True)
        ]}
        self._store.put_many([(layout.journal(batch_id), canonicalize(journal)),
                              (layout.batch_json(batch_id), canonicalize(batch_doc))])
        self._metrics.batch_sealed(tree.size)
        for p in members:
            if p.item.record.type == "drift":
                self._metrics.drift_sealed(p.item.record.site, drift_adapter_label(p.item.record))
        stamping = self._pool.submit(self._request_tokens, tree.root)
        outcomes = self._store_entries(batch_id, [(p.item.account, p.item.record, r)
                                                  for p, r in zip(members, receipts, strict=True)])
        tokens = self._finish(batch_id, tree.root, tree.size, stamping)
        for p in members:
            result = outcomes[(p.item.account, p.item.record.id)]
            if isinstance(result, Exception):
                p.future.set_exception(result)
            elif isinstance(result, Outcome):
                p.future.set_result(result)  # receipt of an earlier batch, with that batch's tokens
            else:
                p.future.set_result(Outcome(receipt=result, batch_id=batch_id, tokens=tokens))
        for follower, first in followers:
            first.future.add_done_callback(functools.partial(_copy_result, target=follower.future))

    def _store_entries(
        self, batch_id: str, entries: Sequence[tuple[str, Record, bytes]]
    ) -> dict[tuple[str, str], bytes | Outcome | Exception]:
        """Write records, then receipts and index entries; returns per record what the submitter gets."""
        results: dict[tuple[str, str], bytes | Outcome | Exception] = {}
        taken = self._store.put_many([(layout.record(a, rec.id), rec.canonical) for a, rec, _ in entries])
        writable = []
        for account, rec, receipt in entries:
            key = layout.record(account, rec.id)
            if key in taken and self._store.get(key) != rec.canonical:
                results[(account, rec.id)] = Conflict(
                    f"record {rec.id} already exists with different content (digest differs)")
            else:
                writable.append((account, rec, receipt))
        items: list[tuple[str, bytes]] = [(layout.receipt(a, rec.id), receipt) for a, rec, receipt in writable]
        sessions: dict[tuple[str, str, str], list[Record]] = {}
        for account, rec, _ in writable:
            sessions.setdefault((account, rec.site, rec.session_id), []).append(rec)
        for (account, site, session_id), recs in sessions.items():
            items.append((layout.session_index(account, site, session_id, batch_id),
                          _session_index(site, session_id, recs)))
        for account in sorted({a for a, _, _ in writable}):
            items.append((layout.account_batch(account, batch_id), b"{}"))
        taken = self._store.put_many(items)
        for account, rec, receipt in writable:
            if layout.receipt(account, rec.id) in taken:
                stored = self._store.get(layout.receipt(account, rec.id))
                results[(account, rec.id)] = self.outcome_for_receipt(stored)
            else:
                results[(account, rec.id)] = receipt
        return results

    def _request_tokens(self, root: bytes) -> list[StampedToken]:
        futures: list[tuple[TsaClient, Future[StampedToken]]] = [
            (tsa, self._tsa_pool.submit(self._timed_stamp, tsa, root)) for tsa in self._tsas
        ]
        tokens = []
        for tsa, f in futures:
            with self._lock:
                self.tsa_requests += 1
            try:
                tokens.append(f.result())
            except TimestampError as e:
                with self._lock:
                    self.tsa_failures += 1
                log.warning("time-stamp request failed: %s", e.detail, extra={"tsa": tsa.config.name})
        return tokens

    def _timed_stamp(self, tsa: TsaClient, root: bytes) -> StampedToken:
        with self._metrics.tsa_call(tsa.config.name):
            return tsa.stamp(root)

    def _add_pending(self, batch_id: str, root: bytes, size: int) -> None:
        with self._lock:
            if batch_id in self._pending:
                return
            self._pending[batch_id] = root
            self._pending_sizes[batch_id] = size
        self._metrics.pending_changed(1, size)

    def _drop_pending(self, batch_id: str) -> None:
        with self._lock:
            if self._pending.pop(batch_id, None) is None:
                return
            size = self._pending_sizes.pop(batch_id, 0)
        self._metrics.pending_changed(-1, -size)

    def _finish(self, batch_id: str, root: bytes, size: int,
                stamping: Future[list[StampedToken]]) -> tuple[TokenView, ...]:
        stamped = stamping.result()
        if not stamped:
            self._add_pending(batch_id, root, size)
            return ()
        return self._store_tokens(batch_id, stamped)

    def _store_tokens(self, batch_id: str, stamped: Sequence[StampedToken]) -> tuple[TokenView, ...]:
        items: list[tuple[str, bytes]] = []
        for t in stamped:
            meta = {"tsa": t.tsa, "untrusted": t.untrusted, "chain": self._chain_pem(t)}
            items.append((layout.token(batch_id, t.tsa), t.token))
            items.append((layout.token_chain(batch_id, t.tsa), json.dumps(meta).encode()))
        self._store.put_many(items)
        self._store.put_many([(layout.batch_done(batch_id), b"{}")])
        return self.tokens(batch_id)

    def _chain_pem(self, stamped: StampedToken) -> str:
        """The certificates a verifier needs beside the token: those it embeds, then the configured CA file."""
        pem = "".join(der_to_pem(c) for c in stamped.info.certificates)
        for tsa in self._tsas:
            if tsa.config.name == stamped.tsa and tsa.config.ca_file is not None:
                pem += tsa.config.ca_file.read_text()
        return pem

    # -- reading ---------------------------------------------------------------------------------

    def tokens(self, batch_id: str) -> tuple[TokenView, ...]:
        """The stored tokens of a batch (empty while it is pending)."""
        views = []
        for key in self._store.list(layout.tokens_prefix(batch_id)):
            if key.endswith(".tst"):
                tsa = key.rsplit("/", 1)[1].removesuffix(".tst")
                meta = self.token_meta(batch_id, tsa)
                views.append(token_view(tsa, self._store.get(key), bool(meta.get("untrusted"))))
        return tuple(views)

    def token_meta(self, batch_id: str, tsa: str) -> dict[str, object]:
        try:
            meta: dict[str, object] = json.loads(self._store.get(layout.token_chain(batch_id, tsa)))
            return meta
        except ObjectMissing:
            return {}

    def outcome_for_receipt(self, receipt_bytes: bytes) -> Outcome:
        batch_id = Receipt.from_json(json.loads(receipt_bytes)).batch.id
        return Outcome(receipt=receipt_bytes, batch_id=batch_id, tokens=self.tokens(batch_id))

    # -- retries and recovery --------------------------------------------------------------------

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def retry_pending(self) -> int:
        """Ask the TSAs again for every pending batch; returns how many got stamped."""
        with self._lock:
            pending = list(self._pending.items())
        done = 0
        for batch_id, root in pending:
            stamped = self._request_tokens(root)
            if stamped:
                self._store_tokens(batch_id, stamped)
                self._drop_pending(batch_id)
                done += 1
        return done

    def recover(self, min_age_s: float = 0.0) -> dict[str, int]:
        """Finish every batch whose seal was interrupted: store what the journal holds, stamp, mark done.

        Only batches older than ``min_age_s`` are taken: a younger one may still be sealing in another
        worker or instance, and finishing it there too would cost a TSA call and answer its records
        "pending" for nothing. Listing resumes after the last batch known finished (batch ids are
        ULIDs, so key order is time order), so repeated passes stay cheap as history grows.
        """
        state: dict[str, set[str]] = {}
        last_key: dict[str, str] = {}
        for key in self._store.list(layout.BATCHES, start_after=self._recovered_upto):
            parts = key.split("/")
            state.setdefault(parts[1], set()).add("/".join(parts[2:]))
            last_key[parts[1]] = max(key, last_key.get(parts[1], key))
        report = {"batches": len(state), "finished": 0, "stamped": 0, "pending": 0, "too_young": 0}
        cutoff_ms = (time.time() - min_age_s) * 1000
        watermark_open = False
        for batch_id, names in sorted(state.items()):
            young = ulid_time_ms(batch_id) > cutoff_ms
            if "done" in names or "journal.json" not in names:
                # A batch without a journal is one being created right now (batch.json and journal are
                # written together) or never got one: nothing to finish from it.
                if not watermark_open and not young and "done" in names:
                    self._recovered_upto = last_key[batch_id]
                else:
                    watermark_open = True
                continue
            watermark_open = True
            if young:
                report["too_young"] += 1
                continue
            self._finish_from_journal(batch_id, names, report)
        return report

    def _finish_from_journal(self, batch_id: str, names: set[str], report: dict[str, int]) -> None:
        journal = json.loads(self._store.get(layout.journal(batch_id)))
        entries = []
        for e in journal["entries"]:
            record = Record.from_canonical(e["record"].encode())
            entries.append((e["account"], record, e["receipt"].encode()))
        self._store_entries(batch_id, entries)
        report["finished"] += 1
        if any(n.endswith(".tst") for n in names):
            self._store.put_many([(layout.batch_done(batch_id), b"{}")])
            return
        root = digest_bytes(journal["root"])
        stamped = self._request_tokens(root)
        if stamped:
            self._store_tokens(batch_id, stamped)
            report["stamped"] += 1
        else:
            self._add_pending(batch_id, root, len(entries))
            report["pending"] += 1

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._tsa_pool.shutdown(wait=True)
        # This sealer stops retrying; whoever recovers these batches next counts them as its own.
        for batch_id in list(self._pending):
            self._drop_pending(batch_id)


def _copy_result(source: Future[Outcome], target: Future[Outcome]) -> None:
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


SNIPPET_CHARS = 240


def _session_index(site: str, session_id: str, records: Sequence[Record]) -> bytes:
    """The records of one session sealed in one batch, with what listing and ordering need."""
    entries = []
    for rec in records:
        entry: dict[str, object] = {"id": rec.id, "seq": rec.seq, "captured_at": rec.captured_at, "type": rec.type}
        session = rec.value["session"]
        if isinstance(session, dict) and session.get("title"):
            entry["title"] = session["title"]
        if rec.device:
            entry["device"] = rec.device
        text = rec.value.get("text")
        if isinstance(text, str) and text:
            # What the dashboard's search reads, so finding a session by its words needs no record reads.
            entry["snippet"] = text[:SNIPPET_CHARS]
        entries.append(entry)
    return canonicalize({"v": 1, "site": site, "session": session_id, "records": entries})
