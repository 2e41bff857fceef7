"""Sealing batches: Merkle tree, signed receipts, one durable pack, then RFC 3161 tokens.

Order of a seal (each step durable before the next; formats in ``pack``):
1. build the RFC 9162 tree over the batch's record digests (the records of one session adjacent, so
   they read back in one range) and sign one receipt per record;
2. write the pack (records and signed receipts, the whole batch): from here on a crash loses
   nothing, recovery finishes the job from the pack;
3. ask every TSA for a token over the root (in parallel with 4) and append the records to their
   sessions' indexes (``indexer``): a record id the session already holds keeps its first receipt,
   so a record never gets two;
4. write the stamp (every token with its chain). If every TSA failed the batch stays pending; a
   background loop (and start-up recovery) retries until one answers. A TSA missing from the stamp is
   asked again the same way until it answers or is removed from the configuration (``late_stamps``).
A batch is therefore 2 + (sessions it touches) + (accounts it touches) object writes, whatever its size.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from . import fastjson, layout, revocation_fetch, tsa_revocation
from .batcher import Pending
from .canonical import digest_bytes
from .errors import AlreadyExists, Conflict, TimestampError
from .index import Index, Located, TokenView, token_view
from .indexer import Indexer, Sealed
from .keyring import Keyring
from .late_stamps import encode_incomplete, incomplete_root, read_state, write_complete, write_late
from .merkle import MerkleTree
from .metrics import process_metrics
from .model import BatchRef, Receipt, Record, drift_adapter_label, new_ulid, ulid_time_ms, utc_now
from .ocsp import ocsp_url
from .pack import SNIPPET_CHARS, PackEntry, StoredToken, decode_pack, decode_stamp, encode_pack, encode_stamp
from .signing import b64, der_to_pem
from .storage import ObjectStore
from .timestamping import StampedToken, TsaClient
from .tsa_health import process_tsa_health

__all__ = ["SNIPPET_CHARS", "BatchSealer", "Outcome", "Submission", "TokenView", "token_view"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    account: str
    record: Record
    device_key: str | None
    received_at: str
    device_sig: str | None = None  # base64 Ed25519 over JCS(record), verified at ingest; kept in the receipt


@dataclass(frozen=True)
class Outcome:
    """What a submitter gets back: its receipt (exact stored bytes) and the batch's tokens."""

    receipt: bytes
    batch_id: str
    tokens: tuple[TokenView, ...]
    received_at: str = ""  # the receipt's, when known without parsing it (a record sealed just now)

    @property
    def status(self) -> str:
        return "stamped" if self.tokens else "pending"


class BatchSealer:
    def __init__(self, store: ObjectStore, keyring: Keyring, tsas: Sequence[TsaClient],
                 index: Index | None = None) -> None:
        self._store = store
        self._keyring = keyring
        self._tsas = list(tsas)
        self.index = index if index is not None else Index(store)
        self.indexer = Indexer(store, self.index)
        # Two pools so that a stamping task never waits for a TSA call queued behind it in its own pool.
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stamp")
        self._tsa_pool = ThreadPoolExecutor(max_workers=8 * max(1, len(self._tsas)), thread_name_prefix="tsa")
        self._pending: dict[str, bytes] = {}  # batch id -> root, batches waiting for any TSA
        self._incomplete: dict[str, bytes] = {}  # batch id -> root, stamped batches waiting for some TSA
        # (batch id, tsa): a request still running after the batch was acknowledged on another TSA's token
        self._in_flight: set[tuple[str, str]] = set()
        # (batch id, tsa) -> the token's verified chain, whose revocation data could not be fetched yet
        self._revocation_pending: dict[tuple[str, str], tuple[bytes, ...]] = {}
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
        # One session's records side by side in the pack: reading a session is one range per batch.
        members = sorted(unique.values(), key=lambda p: (p.item.account, p.item.record.site, p.item.record.session_id))
        batch_id = new_ulid()
        tree = MerkleTree([p.item.record.digest_raw for p in members])
        root = "sha256:" + tree.root.hex()
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
            signed_bytes = unsigned.signed_bytes()
            receipts.append(Receipt.signed_canonical(signed_bytes, b64(key.sign(signed_bytes))))
        batch_doc = {"v": 1, "id": batch_id, "root": root, "size": tree.size, "sealed_at": utc_now()}
        data, spans = encode_pack(batch_doc, [PackEntry(p.item.account, p.item.record.canonical, r)
                                              for p, r in zip(members, receipts, strict=True)])
        # The TSAs are asked while the pack and the index are written: the root is all they need, and the
        # token is stored only after both, so a failed write leaves at most an unused token in memory.
        stamping = self._pool.submit(self._request_first, tree.root)
        try:
            self._store.put(layout.pack(batch_id), data)
            results = self.indexer.index_batch(batch_doc, [
                Sealed(p.item.account, p.item.record, r, span)
                for p, r, span in zip(members, receipts, spans, strict=True)])
        except BaseException:
            # No stamp for a batch whose index is unfinished: the stamp marks it done, and recovery
            # must find it to finish the index (and ask the TSAs again).
            stamping.cancel()
            raise
        self._metrics.batch_sealed(tree.size)
        for p in members:
            if p.item.record.type == "drift":
                self._metrics.drift_sealed(p.item.record.site, drift_adapter_label(p.item.record))
        tokens = self._finish(batch_id, tree.root, tree.size, stamping)
        for p in members:
            result = results[(p.item.account, p.item.record.id)]
            if isinstance(result, Exception):
                p.future.set_exception(result)
            elif isinstance(result, Located):
                p.future.set_result(self.outcome_for(result))  # an earlier copy's receipt, with its tokens
            else:
                p.future.set_result(Outcome(receipt=result, batch_id=batch_id, tokens=tokens,
                                              received_at=p.item.received_at))
        for follower, first in followers:  # the same record twice at once: the first copy's answer
            error = first.future.exception(timeout=0)
            if error is not None:
                follower.future.set_exception(error)
            else:
                follower.future.set_result(first.future.result(timeout=0))

    def _request_first(self, root: bytes) -> tuple[list[StampedToken], list[tuple[str, Future[StampedToken]]]]:
        """Ask every TSA at once and return as soon as one has answered (with any others done by then), and
        the requests still running: a slow TSA must not hold up the acknowledgement (issue: every TSA,
        eventually; the batch is acknowledged on the first token)."""
        futures = {self._tsa_pool.submit(self._timed_stamp, tsa, root): tsa for tsa in self._tsas}
        with self._lock:
            self.tsa_requests += len(futures)
        tokens: list[StampedToken] = []
        running = set(futures)
        while running and not tokens:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            tokens += self._results([(futures[f], f) for f in done])
        finished = {f for f in running if f.done()}
        tokens += self._results([(futures[f], f) for f in finished])
        return tokens, [(futures[f].name, f) for f in running - finished]

    def _results(self, requests: Sequence[tuple[TsaClient, Future[StampedToken]]]) -> list[StampedToken]:
        tokens = []
        for tsa, f in requests:
            try:
                tokens.append(f.result())
            except TimestampError as e:
                with self._lock:
                    self.tsa_failures += 1
                log.warning("time-stamp request failed: %s", e.detail, extra={"tsa": tsa.config.name})
        return tokens

    def _request_tokens(self, root: bytes, only: Collection[str] | None = None) -> list[StampedToken]:
        futures: list[tuple[TsaClient, Future[StampedToken]]] = [
            (tsa, self._tsa_pool.submit(self._timed_stamp, tsa, root)) for tsa in self._tsas
            if only is None or tsa.name in only
        ]
        with self._lock:
            self.tsa_requests += len(futures)
        return self._results(futures)

    def _timed_stamp(self, tsa: TsaClient, root: bytes) -> StampedToken:
        health = process_tsa_health()
        try:
            with self._metrics.tsa_call(tsa.config.name):
                token = tsa.stamp(root)
        except TimestampError as e:
            health.failed(tsa.config.name, e.detail)
            raise
        health.succeeded(tsa.config.name)
        return token

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
                stamping: Future[tuple[list[StampedToken], list[tuple[str, Future[StampedToken]]]]],
                ) -> tuple[TokenView, ...]:
        stamped, stragglers = stamping.result()
        if not stamped:
            self._add_pending(batch_id, root, size)
            return ()
        views = self._store_tokens(batch_id, root, stamped)
        for tsa, future in stragglers:
            self._follow(batch_id, root, tsa, future)
        return views

    def _follow(self, batch_id: str, root: bytes, tsa: str, future: Future[StampedToken]) -> None:
        """A TSA slower than the first to answer: its token becomes a late token when it comes (the batch
        is acknowledged already; ``late_stamps``); if it fails, the retry loop asks it again."""
        with self._lock:
            self._in_flight.add((batch_id, tsa))

        def arrived(f: Future[StampedToken]) -> None:
            try:
                self._pool.submit(self._late_answer, batch_id, root, tsa, f)
            except RuntimeError:  # shutting down: the incomplete marker lets recovery ask again
                with self._lock:
                    self._in_flight.discard((batch_id, tsa))
        future.add_done_callback(arrived)

    def _late_answer(self, batch_id: str, root: bytes, tsa: str, future: Future[StampedToken]) -> None:
        try:
            token = future.result()
        except TimestampError as e:
            with self._lock:
                self.tsa_failures += 1
                self._in_flight.discard((batch_id, tsa))
            log.warning("time-stamp request failed: %s", e.detail, extra={"tsa": tsa})
            return
        write_late(self._store, batch_id, self._stored(token))
        self._archive_revocation(batch_id, [token])
        with self._lock:
            self._in_flight.discard((batch_id, tsa))
        self.complete_batch(batch_id, root)

    def _store_tokens(self, batch_id: str, root: bytes, stamped: Sequence[StampedToken]) -> tuple[TokenView, ...]:
        stored = [self._stored(t) for t in stamped]
        answered = {t.tsa for t in stamped}
        awaiting = [tsa.name for tsa in self._tsas if tsa.name not in answered]
        if awaiting:  # the marker first: recovery anywhere finds the batch from a listing
            self._store.put_many([(layout.stamp_incomplete(batch_id),
                                   encode_incomplete("sha256:" + root.hex(), awaiting))])
        key = layout.stamp(batch_id)
        try:
            self._store.put(key, encode_stamp(stored, awaiting))
        except AlreadyExists:  # another instance finished this batch first: its tokens are the batch's
            state = read_state(self._store, batch_id)
            stored = list(state.tokens) if state is not None else list(decode_stamp(self._store.get(key), key))
            awaiting = [] if state is None or state.final else state.missing([t.name for t in self._tsas])
        else:
            self._archive_revocation(batch_id, stamped)
        parsed = {t.token: t.info for t in stamped}
        views = tuple(token_view(t.tsa, t.token, t.untrusted, t.chain, parsed.get(t.token)) for t in stored)
        if awaiting:
            with self._lock:
                self._incomplete[batch_id] = root
        else:
            self.index.remember_tokens(batch_id, views)
        return views

    def _stored(self, stamped: StampedToken) -> StoredToken:
        return StoredToken(tsa=stamped.tsa, token=stamped.token, untrusted=stamped.untrusted,
                           chain=self._chain_pem(stamped))

    def complete_batch(self, batch_id: str, root: bytes) -> bool:
        """Ask the configured TSAs missing from a stamped batch; True once none is missing."""
        state = read_state(self._store, batch_id)
        if state is None:
            return False
        missing = [] if state.final else state.missing([t.name for t in self._tsas])
        with self._lock:  # a request still running from the seal is not asked twice
            running = [m for m in missing if (batch_id, m) in self._in_flight]
        missing = [m for m in missing if m not in running]
        if missing:
            late = self._request_tokens(root, only=missing)
            for token in late:
                write_late(self._store, batch_id, self._stored(token))
                missing.remove(token.tsa)
            self._archive_revocation(batch_id, late)
        if missing or running:
            with self._lock:
                self._incomplete[batch_id] = root
            return False
        if not state.final:
            write_complete(self._store, batch_id)
        with self._lock:
            self._incomplete.pop(batch_id, None)
        self.index.tokens(batch_id)  # now final: read once more and kept
        return True

    def _chain_pem(self, stamped: StampedToken) -> str:
        """The certificates a verifier needs beside the token: those it embeds, then the configured CA file."""
        pem = "".join(der_to_pem(c) for c in stamped.info.certificates)
        for tsa in self._tsas:
            if tsa.config.name == stamped.tsa and tsa.config.ca_file is not None:
                pem += tsa.config.ca_file.read_text()
        return pem

    # -- reading ---------------------------------------------------------------------------------

    def tokens(self, batch_id: str) -> tuple[TokenView, ...]:
        """The stored tokens of a batch (empty while it is pending), each with its chain."""
        return self.index.tokens(batch_id)

    def outcome_for(self, located: Located) -> Outcome:
        _, receipt = self.index.pairs([located])[0]
        if receipt is None:
            raise Conflict(f"record {located.id} is still being sealed; resend it later (resending is safe)")
        return Outcome(receipt=receipt, batch_id=located.batch_id, tokens=self.index.tokens(located.batch_id))

    def outcome_for_receipt(self, receipt_bytes: bytes) -> Outcome:
        batch_id = self.index.receipt(receipt_bytes).batch.id
        return Outcome(receipt=receipt_bytes, batch_id=batch_id, tokens=self.index.tokens(batch_id))

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
                self._store_tokens(batch_id, root, stamped)
                self._drop_pending(batch_id)
                done += 1
        with self._lock:
            incomplete = list(self._incomplete.items())
        for batch_id, root in incomplete:
            if self.complete_batch(batch_id, root):
                done += 1
        with self._lock:
            revocation = list(self._revocation_pending.items())
        for (batch_id, tsa), chain in revocation:
            self._fetch_revocation(batch_id, tsa, chain)
        return done

    def _archive_revocation(self, batch_id: str, stamped: Sequence[StampedToken]) -> None:
        """Fetch and store, in the background, the revocation data of each new token's certificates."""
        for t in stamped:
            if any(ocsp_url(c) for c in t.chain[:-1]):  # nothing to archive for a chain without responders
                self._pool.submit(self._fetch_revocation, batch_id, t.tsa, t.chain)

    def _fetch_revocation(self, batch_id: str, tsa: str, chain: tuple[bytes, ...]) -> bool:
        timeout = next((c.config.timeout for c in self._tsas if c.name == tsa), 10.0)
        try:
            data = tsa_revocation.encode(tsa, revocation_fetch.capture(chain, timeout))
        except TimestampError as e:
            log.warning("revocation data not fetched yet: %s", e.detail, extra={"tsa": tsa})
            with self._lock:
                first = (batch_id, tsa) not in self._revocation_pending
                self._revocation_pending[(batch_id, tsa)] = chain
            if first:  # recovery on any instance asks again, from the chain the marker keeps
                self._store.put_many([(layout.revocation_wanted(batch_id, tsa), tsa_revocation.encode_wanted(chain))])
            return False
        self._store.put_many([(layout.revocation(batch_id, tsa), data)])  # taken: another instance's answer
        with self._lock:
            self._revocation_pending.pop((batch_id, tsa), None)
        return True

    def revocation_pending_count(self) -> int:
        with self._lock:
            return len(self._revocation_pending)

    def incomplete_count(self) -> int:
        """Stamped batches still waiting for some configured TSA."""
        with self._lock:
            return len(self._incomplete)

    def recover(self, min_age_s: float = 0.0) -> dict[str, int]:
        """Finish every batch whose seal was interrupted: index what its pack holds, stamp it.

        Only batches older than ``min_age_s`` are taken: a younger one may still be sealing in another
        worker or instance, and finishing it there too would cost a TSA call and answer its records
        "pending" for nothing. Listing resumes after the last batch known finished (batch ids are
        ULIDs, so key order is time order), so repeated passes stay cheap as history grows.
        A previous release's unfinished batch (a journal, no ``done``) is finished the same way, from
        a pack made of its journal.
        """
        state: dict[str, set[str]] = {}
        last_key: dict[str, str] = {}
        for key in self._store.list(layout.BATCHES, start_after=self._recovered_upto):
            parts = key.split("/")
            state.setdefault(parts[1], set()).add("/".join(parts[2:]))
            last_key[parts[1]] = max(key, last_key.get(parts[1], key))
        report = {"batches": len(state), "finished": 0, "stamped": 0, "pending": 0, "too_young": 0,
                  "completed": 0, "awaiting_tsa": 0}
        cutoff_ms = (time.time() - min_age_s) * 1000
        watermark_open = False
        report["revocation_fetched"] = report["revocation_missing"] = 0
        for batch_id, names in sorted(state.items()):
            young = ulid_time_ms(batch_id) > cutoff_ms
            wanted = [n.removeprefix(layout.REVOCATION_WANTED) for n in names
                      if n.startswith(layout.REVOCATION_WANTED) and "revocation/" + n.removeprefix(
                          layout.REVOCATION_WANTED) not in names]
            if wanted and not young:
                watermark_open = True  # kept open until the data is stored
                for tsa in wanted:
                    chain = tsa_revocation.decode_wanted(self._store.get(layout.revocation_wanted(batch_id, tsa)))
                    fetched = self._fetch_revocation(batch_id, tsa, chain)
                    report["revocation_fetched" if fetched else "revocation_missing"] += 1
            awaiting = "stamp" in names and "incomplete" in names and "complete" not in names
            if awaiting and not young:
                watermark_open = True
                report["completed" if self.complete_batch(batch_id, digest_bytes(
                    incomplete_root(self._store, batch_id))) else "awaiting_tsa"] += 1
                continue
            done = ("stamp" in names and not awaiting) or "done" in names
            if done or not ({"pack", "journal.json"} & names):
                # A batch with neither pack nor journal is a previous release's batch being created
                # right then (batch.json and journal were written together): nothing to finish from it.
                if not watermark_open and not young and done:
                    self._recovered_upto = last_key[batch_id]
                else:
                    watermark_open = True
                continue
            watermark_open = True
            if young:
                report["too_young"] += 1
                continue
            self._finish_batch(batch_id, names, report)
        return report

    def _finish_batch(self, batch_id: str, names: set[str], report: dict[str, int]) -> None:
        key = layout.pack(batch_id)
        if "pack" not in names:
            self._pack_from_journal(batch_id)
        meta, entries = decode_pack(self._store.get(key), key)
        self.indexer.index_batch(meta.batch, [Sealed(e.account, Record.from_canonical(e.record), e.receipt, span)
                                               for e, span in entries])
        report["finished"] += 1
        if any(n.endswith(".tst") for n in names):  # a previous release stored its tokens already
            self._store.put_many([(layout.batch_done(batch_id), b"{}")])
            return
        root = digest_bytes(meta.batch["root"])
        stamped = self._request_tokens(root)
        if stamped:
            self._store_tokens(batch_id, root, stamped)
            report["stamped"] += 1
        else:
            self._add_pending(batch_id, root, len(entries))
            report["pending"] += 1

    def _pack_from_journal(self, batch_id: str) -> None:
        journal = fastjson.loads(self._store.get(layout.journal(batch_id)))
        batch = {k: journal[k] for k in ("v", "id", "root", "size", "sealed_at")}
        data, _ = encode_pack(batch, [PackEntry(e["account"], e["record"].encode(), e["receipt"].encode())
                                      for e in journal["entries"]])
        self._store.put_many([(layout.pack(batch_id), data)])  # taken: an earlier pass made it

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._tsa_pool.shutdown(wait=True)
        # This sealer stops retrying; whoever recovers these batches next counts them as its own.
        for batch_id in list(self._pending):
            self._drop_pending(batch_id)

