"""The service's use cases over the object store: ingest, blobs, reads, recovery.

Ingest validates the whole request before anything is written (bad input changes nothing), answers
resent records with their original receipt, and hands new records to the group-commit batcher.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO, Literal

from . import fastjson, layout
from .accounts import Accounts
from .batcher import Batcher
from .canonical import JsonValue, canonicalize
from .chain_links import OK as CHAIN_OK
from .chain_links import ChainLinks, ChainStatus
from .clock import CLOCK_TOLERANCE_S, clock_gap_s, describe_gap
from .errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    ObjectMissing,
    StorageError,
    TimestampError,
    VerificationError,
)
from .evidence import BatchEvidence, RecordEvidence, SessionEvidence
from .index import Index, Located, SessionState, TokenView
from .keyring import Keyring
from .model import SERVICE_RECORD_TYPES, Record, utc_now
from .renewal import DEFAULT_MARGIN_DAYS, Renewals
from .sealer import BatchSealer, Outcome, Submission
from .signing import b64, unb64
from .statements import ACCOUNT_SESSION, SERVICE_SITE, device_session
from .storage import ObjectStore
from .timestamping import TsaClient

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SITE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MEDIA_TYPE_DEFAULT = "application/octet-stream"


@dataclass(frozen=True)
class IngestResult:
    record_id: str
    outcome: Outcome
    chain: ChainStatus = CHAIN_OK  # where the record sits in its chain as it arrived (chain_links.py)
    captured_at: str = ""  # the device's claim, compared with the receipt's received_at (clock.py)

    def to_json(self, *, with_tokens: bool = True) -> dict[str, Any]:
        """The answer for this record; its receipt is embedded as the exact stored bytes (a ``fastjson``
        fragment, so only ``fastjson.dumps`` can encode the result, as the API's JSON provider does)."""
        received_at = self.outcome.received_at or str(fastjson.loads(self.outcome.receipt).get("received_at", ""))
        body = {"record_id": self.record_id, "status": self.outcome.status,
                "receipt": fastjson.raw(self.outcome.receipt), "batch": self.outcome.batch_id,
                "chain": self.chain.to_json()}
        gap = clock_gap_s(self.captured_at, received_at)
        if gap is not None:
            when, amount = describe_gap(gap)
            body["clock"] = {"gap_s": round(gap, 3), "tolerance_s": CLOCK_TOLERANCE_S,
                             "detail": f"captured_at is {amount} {when} the service received the record "
                                       f"(tolerance {CLOCK_TOLERANCE_S // 60} min): accepted, and flagged "
                                       "wherever the step is shown"}
        if with_tokens:
            body["tokens"] = [t.to_json() for t in self.outcome.tokens]
        return body


def results_json(results: Sequence[IngestResult], is_array: bool) -> dict[str, Any]:
    """The answer to a post: one result with its tokens, or for an array the results plus each batch's
    tokens once (a batch of 1,000 records shares one token per TSA; repeating it would be 1,000 copies)."""
    if not is_array:
        return results[0].to_json()
    batches = {r.outcome.batch_id: {"status": r.outcome.status, "tokens": [t.to_json() for t in r.outcome.tokens]}
               for r in results}
    return {"results": [r.to_json(with_tokens=False) for r in results], "batches": batches}


def _indexed(index: int | None, e: InvalidInput) -> InvalidInput:
    return e if index is None else type(e)(f"item {index}: {e.detail}", code=e.code, index=index)


class Ledger:
    def __init__(self, store: ObjectStore, keyring: Keyring, accounts: Accounts, tsas: Sequence[TsaClient], *,
                 batch_window_s: float, batch_max: int, max_records_per_post: int = 1000,
                 wait_timeout_s: float = 120.0, renew_margin: timedelta = timedelta(days=DEFAULT_MARGIN_DAYS)) -> None:
        self.store = store
        self.keyring = keyring
        self.accounts = accounts
        self.tsas = list(tsas)
        self.index = Index(store)  # the one read side, shared with the sealer and the dashboard
        self.sealer = BatchSealer(store, keyring, tsas, self.index)
        self.chain_links = ChainLinks(self.index)
        self.renewals = Renewals(store, self.index, tsas, margin=renew_margin)
        self.batcher: Batcher[Submission, Outcome] = Batcher(
            self.sealer.seal, window_s=batch_window_s, max_items=batch_max)
        self.max_records_per_post = max_records_per_post
        self._wait_timeout_s = wait_timeout_s
        self._blob_meta_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(self, account: str, payload: JsonValue, *, service: bool = False) -> tuple[list[IngestResult], bool]:
        """Validate, deduplicate and commit records; returns results in request order and whether
        the payload was an array. ``service``: the service's own records (statements.py), which no client
        may send."""
        is_array = isinstance(payload, list)
        items = payload if isinstance(payload, list) else [payload]
        if not items:
            raise InvalidInput("expected a record, an envelope, or a non-empty array of them; found []")
        if len(items) > self.max_records_per_post:
            raise InvalidInput(f"an array may hold at most {self.max_records_per_post} records, found {len(items)}",
                               code="too_many_records")
        received_at = utc_now()
        submissions: list[Submission] = []
        seen: dict[str, Record] = {}
        for i, item in enumerate(items):
            index = i if is_array else None
            try:
                sub = self._submission(account, item, received_at, service)
            except InvalidInput as e:
                raise _indexed(index, e) from e
            earlier = seen.get(sub.record.id)
            if earlier is not None and earlier.digest != sub.record.digest:
                raise Conflict(f"item {i}: record {sub.record.id} appears twice in this request with different "
                               "content", index=i)
            seen[sub.record.id] = sub.record
            submissions.append(sub)
        self._check_attachments(account, submissions, is_array)
        existing = self._existing_outcomes(account, submissions, single=len(submissions) == 1)
        # A break is stored and stamped like any record (evidence is never dropped) and named in the answer.
        chain = self.chain_links.link(account, [s.record for s in submissions])
        fresh = [s for s in submissions if s.record.id not in existing]
        unique_fresh = list({s.record.id: s for s in fresh}.values())
        futures = dict(zip([s.record.id for s in unique_fresh], self.batcher.submit(unique_fresh), strict=True))
        results = []
        for sub in submissions:
            outcome = existing.get(sub.record.id)
            if outcome is None:
                try:
                    outcome = futures[sub.record.id].result(timeout=self._wait_timeout_s)
                except FutureTimeout as e:
                    raise StorageError("the batch holding this record did not finish in time; resend it "
                                       "later (resending is safe)") from e
            results.append(IngestResult(sub.record.id, outcome, chain[sub.record.id], sub.record.captured_at))
        return results, is_array

    def _submission(self, account: str, item: JsonValue, received_at: str, service: bool = False) -> Submission:
        device_sig = None
        if isinstance(item, dict) and "record" in item:
            extra = set(item) - {"record", "device_sig"}
            if extra:
                raise InvalidInput(f"envelope has unknown fields {sorted(extra)}; expected record and device_sig")
            device_sig = item.get("device_sig")
            item = item["record"]
        record = Record.from_json(item)
        if not service and (record.site == SERVICE_SITE or record.type in SERVICE_RECORD_TYPES):
            raise InvalidInput(f"record.session.site {SERVICE_SITE!r} and the types {list(SERVICE_RECORD_TYPES)} are "
                               "the service's own records (account, pairing); a client cannot send them",
                               code="reserved_record")
        device_key = signature_b64 = None
        if device_sig is not None:
            if not isinstance(device_sig, dict) or set(device_sig) != {"key", "sig"}:
                raise InvalidInput('device_sig: expected {"key": "<key id>", "sig": "<base64>"}')
            key_id = device_sig["key"]
            if not isinstance(key_id, str):
                raise InvalidInput("device_sig.key: expected a key id string")
            if record.device is not None and record.device != key_id:
                raise InvalidInput(f"device_sig.key {key_id} differs from record.client.device {record.device}")
            device = self.accounts.device(account, key_id)
            signature = unb64(device_sig["sig"], "device_sig.sig")
            try:
                device.key.verify(record.canonical, signature)
            except VerificationError as e:
                raise InvalidInput(f"device_sig: signature over record {record.id} does not verify with "
                                   f"device key {key_id}", code="bad_device_signature") from e
            device_key, signature_b64 = key_id, b64(signature)
        elif record.device is not None:
            raise InvalidInput(f"record.client.device names device {record.device} but the upload carries no "
                               "device_sig; sign the record or omit client.device", code="missing_device_signature")
        return Submission(account=account, record=record, device_key=device_key, received_at=received_at,
                          device_sig=signature_b64)

    def _check_attachments(self, account: str, submissions: Sequence[Submission], is_array: bool) -> None:
        for i, sub in enumerate(submissions):
            for j, att in enumerate(sub.record.attachments):
                where = f"item {i}: " if is_array else ""
                try:
                    meta = self.blob_meta(account, att.digest[7:])
                except NotFound as e:
                    raise InvalidInput(f"{where}record.attachments[{j}]: blob {att.digest} was never uploaded; "
                                       f"PUT /v1/blobs/{att.digest} first", code="blob_missing") from e
                if meta["bytes"] != att.bytes:
                    raise InvalidInput(f"{where}record.attachments[{j}].bytes is {att.bytes}, the uploaded blob "
                                       f"{att.digest} has {meta['bytes']} bytes", code="blob_size_mismatch")

    def _existing_outcomes(self, account: str, submissions: Sequence[Submission], *,
                           single: bool) -> dict[str, Outcome]:
        """Idempotency, from the index of each record's session (listed once per session per process;
        what another worker added since is found when the batch is indexed): records already stored
        answer with their original receipt; a changed record is a 409 before anything is written.

        A post of one record (alone or in an array) does not list a session this process has not
        seen: appending to the session's index finds its earlier copy all the same (and then answers
        with that receipt, or 409), and with one record there is nothing else the answer could have
        let through. A longer array is checked whole first, so that a changed record refuses the
        array before any of it is stored.
        """
        found: dict[str, Outcome] = {}
        states: dict[str, SessionState] = {}
        for sub in submissions:
            prefix = layout.session_prefix(account, sub.record.site, sub.record.session_id)
            if prefix not in states:
                states[prefix] = self.index.state(prefix, refresh=False, assume_new=single)
            earlier = self.sealer.indexer.earlier(states[prefix], account, sub.record)
            if isinstance(earlier, Exception):
                raise earlier
            if earlier is not None:
                found[sub.record.id] = self.sealer.outcome_for(earlier)
        return found

    # -- blobs -----------------------------------------------------------------------------------

    def put_blob(self, account: str, digest: str, data: bytes, media_type: str | None) -> bool:
        """Store a blob under its digest; True if new. The bytes must hash to the digest."""
        hex_digest = self._blob_hex(digest)
        actual = hashlib.sha256(data).hexdigest()
        if actual != hex_digest:
            raise InvalidInput(f"blob bytes hash to sha256:{actual}, not {digest}", code="digest_mismatch")
        meta = {"digest": digest, "bytes": len(data), "media_type": media_type or MEDIA_TYPE_DEFAULT,
                "uploaded_at": utc_now()}
        try:
            self.store.put(layout.blob(account, hex_digest), data)
        except AlreadyExists:
            return False
        try:
            self.store.put(layout.blob_meta(account, hex_digest), canonicalize(meta))
        except AlreadyExists:
            pass
        return True

    def blob_meta(self, account: str, hex_digest: str) -> dict[str, Any]:
        cached = self._blob_meta_cache.get((account, hex_digest))
        if cached:
            return cached
        try:
            meta: dict[str, Any] = fastjson.loads(self.store.get(layout.blob_meta(account, hex_digest)))
        except ObjectMissing as e:
            if not self.store.exists(layout.blob(account, hex_digest)):
                raise NotFound(f"no blob sha256:{hex_digest}") from e
            # the blob landed but its metadata write was interrupted: derive it from the bytes
            data = self.store.get(layout.blob(account, hex_digest))
            meta = {"digest": f"sha256:{hex_digest}", "bytes": len(data), "media_type": MEDIA_TYPE_DEFAULT}
        with self._lock:
            self._blob_meta_cache[(account, hex_digest)] = meta
        return meta

    def get_blob(self, account: str, digest: str) -> tuple[bytes, str]:
        hex_digest = self._blob_hex(digest)
        meta = self.blob_meta(account, hex_digest)
        return self.store.get(layout.blob(account, hex_digest)), str(meta["media_type"])

    @staticmethod
    def _blob_hex(digest: str) -> str:
        if not digest.startswith("sha256:") or not _HEX64.match(digest[7:]):
            raise InvalidInput(f"expected a blob address sha256:<64 lowercase hex>, found {digest!r:.80}")
        return digest[7:]

    # -- reads -----------------------------------------------------------------------------------

    def record_view(self, account: str, record_id: str) -> dict[str, Any]:
        record, receipt = self.record_pair(account, record_id)
        if receipt is None:
            # A previous release's record whose seal recovery has not finished yet.
            return {"record": fastjson.loads(record), "receipt": None, "status": "sealing", "tokens": []}
        outcome = self.sealer.outcome_for_receipt(receipt)
        return {"record": fastjson.loads(record), "receipt": fastjson.loads(receipt), "status": outcome.status,
                "batch": outcome.batch_id, "tokens": [t.to_json() for t in outcome.tokens]}

    def record_pair(self, account: str, record_id: str) -> tuple[bytes, bytes | None]:
        """A record's exact stored bytes and its receipt's exact signed bytes; NotFound if there is none."""
        try:
            return self.index.record_pair(account, record_id)
        except StorageError as e:
            raise NotFound(f"no record {record_id!r:.40}") from e

    def receipt_bytes(self, account: str, record_id: str) -> bytes:
        _, receipt = self.record_pair(account, record_id)
        if receipt is None:
            raise NotFound(f"record {record_id} has no receipt yet")
        return receipt

    def sessions(self, account: str) -> list[dict[str, Any]]:
        out = []
        for records in self.index.sessions(account):
            first = records[0]
            if first.site == SERVICE_SITE:  # the account and pairing records go with every bundle, not as a session
                continue
            title = next((x.entry["title"] for x in reversed(records) if x.entry.get("title")), None)
            out.append({"site": first.site, "id": first.session_id, "title": title, "records": len(records),
                        "first_captured_at": first.entry["captured_at"],
                        "last_captured_at": records[-1].entry["captured_at"]})
        return sorted(out, key=lambda s: s["last_captured_at"], reverse=True)

    def session_records(self, account: str, site: str, session_id: str) -> list[Located]:
        if not _SITE_RE.match(site):
            raise NotFound(f"no session {site}/{session_id}")
        return self.index.session(account, site, session_id)

    def session_record_ids(self, account: str, site: str, session_id: str) -> list[str]:
        return [x.id for x in self.session_records(account, site, session_id)]

    def session_view(self, account: str, site: str, session_id: str) -> dict[str, Any]:
        located = self.session_records(account, site, session_id)
        records = []
        for record, receipt in self.index.pairs(located):
            if receipt is None:
                records.append({"record": fastjson.loads(record), "receipt": None, "status": "sealing", "tokens": []})
                continue
            outcome = self.sealer.outcome_for_receipt(receipt)
            records.append({"record": fastjson.loads(record), "receipt": fastjson.loads(receipt),
                            "status": outcome.status, "batch": outcome.batch_id,
                            "tokens": [t.to_json() for t in outcome.tokens]})
        title = next((r["record"]["session"].get("title") for r in reversed(records)
                      if r["record"]["session"].get("title")), None)
        return {"site": site, "id": session_id, "title": title, "records": records}

    def batch_view(self, account: str, batch_id: str) -> dict[str, Any]:
        batch = self.index.batch(account, batch_id)
        tokens = [{**t.to_json(), "chain": t.chain or None} for t in self.index.tokens(batch_id)]
        return {**batch, "status": "stamped" if tokens else "pending", "tokens": tokens,
                "archive_timestamps": self.renewals.views(batch_id)}

    def batch_tokens(self, account: str, batch_id: str) -> tuple[TokenView, ...]:
        """Each TSA's token of a batch holding this account's records (404 otherwise), with its chain."""
        self.index.batch(account, batch_id)
        return self.index.tokens(batch_id)

    def archive_timestamps(self, account: str, batch_id: str) -> list[dict[str, Any]]:
        """The RFC 4998 archive time-stamps that carry a batch of this account's (404 otherwise), oldest first."""
        self.index.batch(account, batch_id)
        return self.renewals.views(batch_id)

    def session_evidence(self, account: str, site: str, session_id: str) -> SessionEvidence:
        """Everything the bundle exporter needs for one session; blobs are opened one at a time."""
        batches: dict[str, BatchEvidence] = {}
        key_ids: set[str] = set()
        device_ids: set[str] = set()
        located = self.session_records(account, site, session_id)
        records = self._record_evidence(account, located, batches, key_ids, device_ids)
        statements = self._record_evidence(account, self._statements(account, device_ids), batches, key_ids, set())
        title = next((x.entry["title"] for x in reversed(located) if x.entry.get("title")), "")

        def open_blob(hex_digest: str) -> BinaryIO:
            return io.BytesIO(self.store.get(layout.blob(account, self._blob_hex("sha256:" + hex_digest))))

        return SessionEvidence(
            site=site, session_id=session_id, title=title, account=account, records=records, batches=batches,
            keys={k: self.keyring.public_key(k).pem for k in sorted(key_ids)}, open_blob=open_blob,
            exported_at=utc_now(),
            device_keys={k: self.accounts.device(account, k).key.pem for k in sorted(device_ids)},
            statements=statements)

    def _record_evidence(self, account: str, located: Sequence[Located], batches: dict[str, BatchEvidence],
                         key_ids: set[str], device_ids: set[str]) -> list[RecordEvidence]:
        records: list[RecordEvidence] = []
        for x, (record_bytes, receipt_bytes) in zip(located, self.index.pairs(located), strict=True):
            if receipt_bytes is None:
                continue  # its seal is still being finished; it has nothing to prove yet
            receipt = self.index.receipt(receipt_bytes)
            key_ids.add(receipt.key)
            if receipt.device_key is not None:
                device_ids.add(receipt.device_key)
            batch_id = receipt.batch.id
            if batch_id not in batches:
                batches[batch_id] = self._batch_evidence(account, x, batch_id)
            status: Literal["stamped", "pending"] = "stamped" if batches[batch_id].tokens else "pending"
            records.append(RecordEvidence(record_bytes=record_bytes, receipt_bytes=receipt_bytes, status=status))
        return records

    def _statements(self, account: str, device_ids: set[str]) -> list[Located]:
        """The service's own records a bundle carries: every account record (who, and each change of name),
        and the pairing record of each device that signed one of the bundle's records."""
        out: list[Located] = []
        for session in [ACCOUNT_SESSION, *sorted(device_session(k) for k in device_ids)]:
            try:
                out += self.session_records(account, SERVICE_SITE, session)
            except NotFound:
                continue
        return out

    def _batch_evidence(self, account: str, located: Located, batch_id: str) -> BatchEvidence:
        # A segment carries its batch's document; a previous release's index names only the batch.
        batch = located.batch if located.batch_id == batch_id and "root" in located.batch else \
            self.index.batch(account, batch_id)
        tokens, chains, untrusted = {}, {}, {}
        for view in self.index.tokens(batch_id):
            tokens[view.tsa] = view.token
            chains[view.tsa] = view.chain
            untrusted[view.tsa] = view.untrusted
        return BatchEvidence(batch_json=self.index.batch_json(batch), tokens=tokens, chains=chains,
                             untrusted=untrusted, revocation=self.index.revocation(batch_id),
                             evidence_record=self.renewals.evidence_record(batch_id))

    def stamp_digest(self, digest: bytes) -> dict[str, bytes]:
        """Tokens over an arbitrary digest from every TSA that answers (for bundle manifests)."""
        out = {}
        errors = []
        for tsa in self.tsas:
            try:
                out[tsa.config.name] = tsa.stamp(digest).token
            except TimestampError as e:
                errors.append(e.detail)
        if not out:
            raise TimestampError("no TSA answered: " + "; ".join(errors))
        return out

    # -- lifecycle -------------------------------------------------------------------------------

    def recover(self, min_age_s: float = 0.0) -> dict[str, int]:
        return self.sealer.recover(min_age_s)

    def close(self) -> None:
        self.batcher.close()
        self.sealer.close()
