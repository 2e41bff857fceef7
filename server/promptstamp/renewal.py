"""Renewing the proof of every batch before the certificates it rests on expire: RFC 4998 archive
time-stamps (``ers`` holds the format; docs/format.md §10 the contract).

A batch's tokens prove its records existed at genTime only while a verifier can trust the TSA's
signature: once the TSA certificate has expired (or its key was compromised later), a signature made
"back then" can no longer be told from one made afterwards. A renewal time-stamps, with a fresh token
from a TSA whose certificate is valid, one hash tree over the time-stamp files of every batch not yet
renewed (and over the tokens of earlier renewals whose certificates are expiring), while every
certificate involved is still valid: from then on the newer token proves that the older ones existed
before their certificates ran out. One TSA request per renewal, however many batches.

When: the periodic job (``Services``) and ``promptstamp renew`` look at the earliest certificate
expiry among what is not renewed yet and renew once it is within the margin (default 180 days).

Objects (keys in ``layout``), all write-once:

* ``renewals/segments/<run>/<n>.json``: up to ``SEGMENT_LEAVES`` groups, in id order:
  ``{"v": 1, "run", "kind": "batches"|"renewals", "leaves": [{"id", "hashes": [hex, ...]}]}``. The
  groups of a segment form one subtree; the tree over the segment roots gives the renewal's root.
* ``renewals/runs/<run>.json``, written last (a renewal exists once it does): the token, the renewing
  TSA's certificates and OCSP responses, the root, the segments (kind, first and last id, count,
  root), ``renews`` (the earlier renewals it covers), ``through`` (the last batch id it looked at)
  and ``left`` (batches at or before ``through`` it could not cover yet: pending, settling, or still
  waiting for revocation data), so the next renewal starts from those without listing everything.

A segment of 4,096 groups is about 300 KiB; a renewal of a million batches writes 245 segments and one
manifest, and building a batch's evidence record reads the manifests and one segment.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from . import ers, fastjson, layout, revocation_fetch
from .certs import earliest_expiry, load_pem_certificates
from .errors import AlreadyExists, InvalidInput, StorageError, TimestampError
from .evidence import BatchEvidence, batch_files
from .index import Index
from .lru import Lru
from .model import ULID_RE, format_timestamp, iso_utc, new_ulid, ulid_time_ms
from .ocsp import judge, read_response
from .storage import ObjectStore
from .timestamping import StampedToken, TsaClient
from .tokens import token_info

log = logging.getLogger(__name__)

SEGMENT_LEAVES = 4096
DEFAULT_MARGIN_DAYS = 180.0
# A batch sealed less than this long ago waits for the next renewal: its late tokens and revocation data
# may still be on their way, and a renewal covers the files as they are when it runs.
SETTLE_S = 3600.0

Kind = Literal["batches", "renewals"]


@dataclass(frozen=True)
class Leaf:
    id: str  # a batch id, or the id of the renewal whose token this group is
    hashes: tuple[bytes, ...]  # SHA-256 of each file of the group

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "hashes": [h.hex() for h in self.hashes]}


@dataclass(frozen=True)
class SegmentRef:
    number: int
    kind: Kind
    first: str
    last: str
    count: int
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {"n": self.number, "kind": self.kind, "first": self.first, "last": self.last, "count": self.count,
                "root": self.root.hex()}


@dataclass(frozen=True)
class Run:
    """One renewal as its manifest states it."""

    id: str
    created_at: str
    tsa: str
    token: bytes
    chain: tuple[bytes, ...]  # the renewing TSA's certificates, signer .. root, as verified
    ocsp: tuple[bytes, ...]  # OCSP responses for that chain, fetched right after
    root: bytes
    segments: tuple[SegmentRef, ...]
    renews: tuple[str, ...]
    through: str | None
    left: tuple[str, ...]
    not_after: datetime | None  # earliest expiry on the renewing token's path
    ocsp_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")
        return {"v": 1, "id": self.id, "created_at": self.created_at, "tsa": self.tsa, "token": b64(self.token),
                "chain": [b64(c) for c in self.chain], "ocsp": [b64(r) for r in self.ocsp],
                "ocsp_error": self.ocsp_error, "root": self.root.hex(),
                "segments": [s.to_json() for s in self.segments], "renews": list(self.renews),
                "through": self.through, "left": list(self.left),
                "not_after": None if self.not_after is None else format_timestamp(self.not_after)}

    @classmethod
    def from_json(cls, data: bytes, key: str) -> Run:
        try:
            doc = fastjson.loads(data)
            segments = tuple(SegmentRef(number=int(s["n"]), kind=s["kind"], first=str(s["first"]),
                                        last=str(s["last"]), count=int(s["count"]), root=bytes.fromhex(s["root"]))
                             for s in doc["segments"])
            not_after = doc.get("not_after")
            return cls(id=str(doc["id"]), created_at=str(doc["created_at"]), tsa=str(doc["tsa"]),
                       token=base64.b64decode(doc["token"], validate=True),
                       chain=tuple(base64.b64decode(c, validate=True) for c in doc["chain"]),
                       ocsp=tuple(base64.b64decode(r, validate=True) for r in doc["ocsp"]),
                       root=bytes.fromhex(doc["root"]), segments=segments,
                       renews=tuple(str(r) for r in doc["renews"]), through=doc.get("through"),
                       left=tuple(str(b) for b in doc.get("left", ())),
                       not_after=None if not_after is None else datetime.fromisoformat(
                           not_after.replace("Z", "+00:00")),
                       ocsp_error=doc.get("ocsp_error"))
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"{key}: unreadable renewal manifest: {e}") from e


@dataclass
class Plan:
    """What a renewal would cover now, and the earliest expiry among it."""

    batches: list[Leaf] = field(default_factory=list)
    heads: list[Run] = field(default_factory=list)  # renewals not renewed yet
    left: list[str] = field(default_factory=list)
    through: str | None = None
    earliest: datetime | None = None
    earliest_what: str = ""

    def due(self, now: datetime, margin: timedelta) -> bool:
        return self.earliest is not None and self.earliest - margin <= now


class Renewals:
    def __init__(self, store: ObjectStore, index: Index, tsas: Sequence[TsaClient], *,
                 margin: timedelta = timedelta(days=DEFAULT_MARGIN_DAYS), settle_s: float = SETTLE_S,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._index = index
        self._tsas = list(tsas)
        self.margin = margin
        self._settle = timedelta(seconds=settle_s)
        self._clock = clock
        self._runs: dict[str, Run] = {}  # write-once manifests, kept once read
        self._segments: Lru[str, tuple[list[Leaf], bytes, list[list[bytes]]]] = Lru(64)
        self._expiry: dict[str, datetime | None] = {}  # batch id -> earliest expiry of its settled files
        self._lock = threading.Lock()  # one renewal at a time in this process

    # -- reading ---------------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        """Every renewal in the store, oldest first (run ids are ULIDs)."""
        for key in self._store.list(layout.RENEWAL_RUNS):
            run_id = key.removeprefix(layout.RENEWAL_RUNS).removesuffix(".json")
            if run_id not in self._runs and ULID_RE.match(run_id):
                self._runs[run_id] = Run.from_json(self._store.get(key), key)
        return [self._runs[k] for k in sorted(self._runs)]

    def _segment(self, run: Run, ref: SegmentRef) -> tuple[list[Leaf], bytes, list[list[bytes]]]:
        key = layout.renewal_segment(run.id, ref.number)
        cached = self._segments.peek(key)
        if cached is not None:
            return cached
        try:
            doc = fastjson.loads(self._store.get(key))
            leaves = [Leaf(id=str(x["id"]), hashes=tuple(bytes.fromhex(h) for h in x["hashes"]))
                      for x in doc["leaves"]]
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"{key}: unreadable renewal segment: {e}") from e
        root, paths = ers.tree([ers.hash_list(leaf.hashes) for leaf in leaves])
        if root != ref.root:
            raise StorageError(f"{key}: its groups lead to root {root.hex()}, the manifest names {ref.root.hex()}")
        self._segments.put(key, (leaves, root, paths))
        return leaves, root, paths

    def _stamp_of(self, run: Run, kind: Kind, item: str) -> ers.ArchiveStamp | None:
        """The archive time-stamp of ``run`` for one group, or None if the run does not cover it."""
        for position, ref in enumerate(run.segments):
            if ref.kind != kind or not ref.first <= item <= ref.last:
                continue
            leaves, _, paths = self._segment(run, ref)
            at = next((i for i, leaf in enumerate(leaves) if leaf.id == item), None)
            if at is None:
                return None
            top, top_paths = ers.tree([s.root for s in run.segments])
            if top != run.root:
                raise StorageError(f"renewal {run.id}: its segments lead to root {top.hex()}, "
                                   f"the manifest names {run.root.hex()}")
            reduced = ers.reduced_tree(leaves[at].hashes, paths[at], top_paths[position])
            return ers.ArchiveStamp(reduced=tuple(tuple(level) for level in reduced), token=run.token,
                                    certificates=run.chain, ocsp_responses=run.ocsp)
        return None

    def chain(self, batch_id: str) -> list[tuple[Run, ers.ArchiveStamp]]:
        """The batch's archive time-stamps: the renewal that first covered it, then each renewal of that
        renewal's token in turn (empty while no renewal covers the batch)."""
        out: list[tuple[Run, ers.ArchiveStamp]] = []
        kind: Kind = "batches"
        item = batch_id
        for run in self.runs():
            stamp = self._stamp_of(run, kind, item)
            if stamp is not None:
                out.append((run, stamp))
                kind, item = "renewals", run.id
        return out

    def evidence_record(self, batch_id: str) -> bytes | None:
        """The batch's RFC 4998 evidence record (``batches/<id>/evidence.ers``), or None."""
        chain = self.chain(batch_id)
        return ers.encode([stamp for _, stamp in chain]) if chain else None

    def views(self, batch_id: str) -> list[dict[str, Any]]:
        """The batch's archive time-stamps as ``/v1/batches/<id>`` shows them."""
        return [{"renewal": run.id, "tsa": run.tsa, "time": iso_utc(token_info(run.token).gen_time),
                 "certificate_expires": None if run.not_after is None else format_timestamp(run.not_after)}
                for run, _ in self.chain(batch_id)]

    # -- planning --------------------------------------------------------------------------------

    def plan(self) -> Plan:
        now = self._clock()
        runs = self.runs()
        renewed = {r for run in runs for r in run.renews}
        plan = Plan(heads=[run for run in runs if run.id not in renewed])
        last = runs[-1] if runs else None
        plan.through = last.through if last is not None else None
        candidates = dict.fromkeys(last.left if last is not None else ())
        listed = self._listed_batches(plan.through)
        for batch_id in listed:
            candidates[batch_id] = None
            plan.through = max(plan.through or batch_id, batch_id)
        for batch_id in candidates:
            leaf, expiry = self._batch_leaf(batch_id, now, listed.get(batch_id))
            if leaf is None:
                plan.left.append(batch_id)
                continue
            plan.batches.append(leaf)
            self._note_expiry(plan, expiry, f"a TSA certificate of batch {batch_id}")
        for run in plan.heads:
            self._note_expiry(plan, run.not_after, f"the certificate of renewal {run.id} (TSA {run.tsa})")
        return plan

    @staticmethod
    def _note_expiry(plan: Plan, expiry: datetime | None, what: str) -> None:
        if expiry is not None and (plan.earliest is None or expiry < plan.earliest):
            plan.earliest, plan.earliest_what = expiry, what

    def _listed_batches(self, through: str | None) -> dict[str, set[str]]:
        """Batch ids after ``through`` with the names of their objects (one listing, no reads)."""
        start = f"{layout.BATCHES}{through}/~" if through else None  # '~' sorts after every object name
        out: dict[str, set[str]] = {}
        for key in self._store.list(layout.BATCHES, start_after=start):
            parts = key.split("/", 2)
            if len(parts) == 3 and ULID_RE.match(parts[1]):
                out.setdefault(parts[1], set()).add(parts[2])
        return out

    def _batch_leaf(self, batch_id: str, now: datetime, names: set[str] | None) -> tuple[Leaf | None, datetime | None]:
        """The batch's group, once it has tokens, has settled and has the revocation data it waits for."""
        if datetime.fromtimestamp(ulid_time_ms(batch_id) / 1000, UTC) > now - self._settle:
            return None, None
        if names is None:
            prefix = layout.batch_prefix(batch_id)
            names = {k.removeprefix(prefix) for k in self._store.list(prefix)}
        if "stamp" not in names and not any(n.startswith("tokens/") and n.endswith(".tst") for n in names):
            return None, None  # pending: no TSA has answered yet
        wanted = {n.removeprefix(layout.REVOCATION_WANTED) for n in names if n.startswith(layout.REVOCATION_WANTED)}
        if any(f"revocation/{tsa}" not in names for tsa in wanted):
            return None, None  # its revocation data is still to come
        views = self._index.tokens(batch_id)
        if not views:
            return None, None
        batch = BatchEvidence(batch_json=b"", tokens={v.tsa: v.token for v in views},
                              chains={v.tsa: v.chain for v in views}, revocation=self._index.revocation(batch_id))
        hashes = tuple(ers.sha256(data) for _, data in batch_files(batch))
        if batch_id not in self._expiry:
            ends = [e for v in views if (e := _chain_expiry(v.chain)) is not None]
            self._expiry[batch_id] = min(ends) if ends else None
        return Leaf(id=batch_id, hashes=hashes), self._expiry[batch_id]

    # -- renewing --------------------------------------------------------------------------------

    def renew(self, *, force: bool = False, claim: bool = False) -> Run | None:
        """Renew what is due (everything not renewed yet, with ``force``); None when nothing is due, nothing
        is left to cover, or (``claim``) another instance took this period's renewal."""
        with self._lock:
            plan = self.plan()
            now = self._clock()
            heads = [r for r in plan.heads if force or r.not_after is None or r.not_after - self.margin <= now]
            if not force and not plan.due(now, self.margin):
                return None
            if not plan.batches and not heads:
                return None
            if claim:
                try:
                    self._store.put(layout.renewal_claim(now.strftime("%Y-%m-%d")), b"")
                except AlreadyExists:
                    return None
            return self._write(plan, heads, now)

    def _write(self, plan: Plan, heads: Sequence[Run], now: datetime) -> Run:
        run_id = new_ulid()
        groups: list[tuple[Kind, list[Leaf]]] = [("batches", sorted(plan.batches, key=lambda leaf: leaf.id))]
        groups.append(("renewals", [Leaf(id=r.id, hashes=(ers.sha256(r.token),)) for r in heads]))
        refs: list[SegmentRef] = []
        objects: list[tuple[str, bytes]] = []
        for kind, leaves in groups:
            for start in range(0, len(leaves), SEGMENT_LEAVES):
                part = leaves[start:start + SEGMENT_LEAVES]
                root, _ = ers.tree([ers.hash_list(leaf.hashes) for leaf in part])
                number = len(refs) + 1
                refs.append(SegmentRef(number=number, kind=kind, first=part[0].id, last=part[-1].id,
                                       count=len(part), root=root))
                objects.append((layout.renewal_segment(run_id, number), fastjson.dumps(
                    {"v": 1, "run": run_id, "kind": kind, "leaves": [leaf.to_json() for leaf in part]})))
        root, _ = ers.tree([r.root for r in refs])
        stamped, ocsp, ocsp_error = self._stamp(root)
        run = Run(id=run_id, created_at=format_timestamp(now), tsa=stamped.tsa, token=stamped.token,
                  chain=stamped.chain, ocsp=ocsp, root=root, segments=tuple(refs),
                  renews=tuple(r.id for r in heads), through=plan.through, left=tuple(plan.left),
                  not_after=earliest_expiry(stamped.chain), ocsp_error=ocsp_error)
        taken = self._store.put_many(objects)
        if taken:
            raise StorageError(f"renewal {run_id}: segment objects already exist: {sorted(taken)[:3]}")
        self._store.put(layout.renewal_run(run_id), fastjson.dumps(run.to_json()))
        self._runs[run_id] = run
        log.info("renewal %s: %d batches, %d earlier renewals, TSA %s", run_id, len(plan.batches), len(heads),
                 stamped.tsa)
        return run

    def _stamp(self, root: bytes) -> tuple[StampedToken, tuple[bytes, ...], str | None]:
        """A token over the root, with its chain's OCSP responses, from the first configured TSA that answers
        (trusted TSAs first) and whose certificate its responder does not call revoked: a renewal by a
        revoked TSA would carry nothing forward."""
        errors = []
        for tsa in sorted(self._tsas, key=lambda t: t.config.untrusted):
            try:
                stamped = tsa.stamp(root)
            except TimestampError as e:
                errors.append(e.detail)
                continue
            ocsp, ocsp_error = _revocation(stamped)
            revoked = revoked_detail(stamped, ocsp)
            if revoked is None:
                return stamped, ocsp, ocsp_error
            errors.append(f"TSA {tsa.name}: {revoked}")
            log.error("renewal: TSA %s not used: %s", tsa.name, revoked)
        raise TimestampError("renewal: no TSA answered: " + "; ".join(errors) if errors else "renewal: no TSA")


def revoked_detail(stamped: StampedToken, responses: Sequence[bytes]) -> str | None:
    """Why the token's own OCSP responses make it worthless at its genTime, or None."""
    for cert, issuer in zip(stamped.chain, stamped.chain[1:], strict=False):
        for response in responses:
            try:
                judgement = judge(read_response(response, cert, issuer), stamped.info.gen_time)
            except InvalidInput:
                continue  # about another certificate of the chain
            if not judgement.valid:
                return f"certificate revoked: {judgement.detail}"
    return None


def _chain_expiry(chain_pem: str) -> datetime | None:
    try:
        return earliest_expiry(load_pem_certificates(chain_pem)) if chain_pem else None
    except InvalidInput:
        return None


def _revocation(stamped: StampedToken) -> tuple[tuple[bytes, ...], str | None]:
    """The OCSP responses for the renewing token's chain, fetched now; a responder that fails is recorded
    (the renewal still holds: its certificates are valid today, and verifiers say the status is unknown)."""
    try:
        statuses = revocation_fetch.capture(stamped.chain)
    except TimestampError as e:
        log.warning("renewal: revocation data not fetched: %s", e.detail)
        return (), e.detail
    return tuple(s.response for s in statuses if s.response is not None), None


