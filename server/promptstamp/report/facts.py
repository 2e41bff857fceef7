"""The facts of a session, counted from its records: the human's contribution apart from the AI's,
the chain's breaks, the AI-site accounts. No judgement, only counting (and each thing counted once).

Who did what is the record's ``actor`` and ``type``: only the human's ``parameters`` records are
parameters the human set; the model and settings an AI site reports with its output are the AI's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..model import Record


@dataclass(frozen=True)
class Contribution:
    prompts: int
    edits: int
    params: int
    retries: int
    selections: int
    notes: int
    uploads: int  # distinct files the human attached (by digest)
    imports: int
    outputs: int
    images: int  # distinct images the AI produced (by digest)
    models: tuple[str, ...]
    gaps: int
    superseded: int


@dataclass(frozen=True)
class ChainBreak:
    record_id: str
    key: str  # i18n key: 'chain_gap' | 'chain_dup' | 'chain_prev'
    fields: Mapping[str, object]


@dataclass(frozen=True)
class SiteAccount:
    site: str
    id: str
    name: str | None
    email: str | None
    source: str


def superseded_ids(records: Sequence[Record]) -> dict[str, Record]:
    """Record id -> the later record naming it in ``refs.supersedes`` (DESIGN.md, second release: a fuller
    sighting is a new record; the earlier one stays as it was signed)."""
    out: dict[str, Record] = {}
    for r in records:
        refs = r.value.get("refs")
        if isinstance(refs, dict) and isinstance(refs.get("supersedes"), str):
            out.setdefault(refs["supersedes"], r)
    return out


def contribution(records: Sequence[Record]) -> Contribution:
    gone = superseded_ids(records)
    live = [r for r in records if r.id not in gone]

    kinds = Counter((r.type, r.actor) for r in live)  # one pass: a bundle may hold a million steps

    def count(rtype: str, actor: str | None = None) -> int:
        return kinds[(rtype, actor)] if actor is not None else sum(n for (t, _), n in kinds.items() if t == rtype)

    uploads = {a.digest for r in live if r.actor == "user" and r.type != "import" for a in r.attachments}
    images = {a.digest for r in live if r.actor == "ai" for a in r.attachments if a.media_type.startswith("image/")}
    models = sorted({str(p["model"]) for r in live if r.actor == "ai"
                     for p in [r.value.get("params")] if isinstance(p, dict) and "model" in p})
    return Contribution(
        prompts=count("prompt", "user"), edits=count("edit", "user"), params=count("parameters", "user"),
        retries=count("regenerate", "user"), selections=count("selection"), notes=count("note"),
        uploads=len(uploads), imports=count("import"),
        outputs=count("output", "ai") + count("regenerate", "ai"),  # an older form recorded the AI's retry
        images=len(images),
        models=tuple(models), gaps=count("drift"), superseded=len(gone))


def param_changes(records: Sequence[Record]) -> list[tuple[Record, list[tuple[str, Any, Any]]]]:
    """Each human ``parameters`` record with what it changed: (key, old or None, new), keys it names only.

    A key the record does not name was not touched by the human; it is never shown as "unset".
    """
    current: dict[str, Any] = {}
    out = []
    for r in records:
        params = r.value.get("params")
        if r.type != "parameters" or r.actor != "user" or not isinstance(params, dict):
            continue
        changes = [(k, current.get(k), v) for k, v in sorted(params.items()) if current.get(k) != v]
        current.update(params)
        out.append((r, changes))
    return out


_SEQ_ID = attrgetter("seq", "id")


def chain_breaks(records: Sequence[Record]) -> list[ChainBreak]:
    """Where the per-device chain (DESIGN.md: ``seq`` from 1, ``prev`` the digest before) does not hold."""
    by_device: dict[str, list[Record]] = {}
    for r in records:
        by_device.setdefault(r.device or "-", []).append(r)
    out: list[ChainBreak] = []
    for device, chain in sorted(by_device.items()):
        chain = sorted(chain, key=_SEQ_ID)
        before: Record | None = None
        for r in chain:
            expected = 1 if before is None else before.seq + 1
            if before is not None and r.seq == before.seq:
                out.append(ChainBreak(r.id, "chain_dup", {"seq": r.seq, "device": device}))
            elif r.seq > expected:
                out.append(ChainBreak(r.id, "chain_gap", {"a": expected, "b": r.seq - 1, "device": device}))
            elif before is not None and r.prev != before.digest:
                out.append(ChainBreak(r.id, "chain_prev", {"seq": r.seq, "prev": before.seq}))
            before = r
    return out


def site_accounts(records: Sequence[Record]) -> list[SiteAccount]:
    """The AI-site accounts captured as ``identity`` records, once each (site, id)."""
    seen: dict[tuple[str, str], SiteAccount] = {}
    for r in records:
        if r.type != "identity":
            continue
        fields = _identity_fields(r.value)
        uid = fields.get("site_user_id")
        if not isinstance(uid, str) or not uid:
            continue

        def text(key: str, fields: Mapping[str, Any] = fields) -> str | None:
            value = fields.get(key)
            return value if isinstance(value, str) and value else None

        seen.setdefault((r.site, uid), SiteAccount(r.site, uid, text("name"), text("email"),
                                                   text("source") or "the site"))
    return [seen[k] for k in sorted(seen)]


def _identity_fields(value: Mapping[str, Any]) -> Mapping[str, Any]:
    # An identity record names the site's account in params: site_user_id, name, email, source.
    found = value.get("params")
    return found if isinstance(found, dict) else {}


def drift_text(record: Record) -> str:
    """What a drift record says went uncaptured: its text, else its reason code."""
    text = record.value.get("text")
    if isinstance(text, str) and text:
        return text
    params = record.value.get("params")
    if isinstance(params, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(params.items()) if isinstance(v, (str, int)))
    return ""
