"""What a report is made from: the steps of one session and what the bundle says about them.

Everything here can be rebuilt from a bundle's files alone (records, receipts, tokens, keys, blobs),
so a verifier re-renders the report and compares bytes (``derive.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Record


@dataclass(frozen=True)
class ReportStep:
    record: Record
    received_at: str | None = None
    batch_id: str | None = None
    tsa_times: Mapping[str, str] = field(default_factory=dict)  # tsa name -> genTime (RFC 3339)
    status: str = "stamped"  # 'stamped' | 'pending'
    device_key: str | None = None  # the device key the service verified (from the receipt), if any


@dataclass(frozen=True)
class TsaInfo:
    """One TSA as its tokens in the bundle describe it."""

    name: str
    signer: str  # the signer certificate's subject, or the TSTInfo tsa name
    standing: str  # 'development' | 'known' | 'unknown'
    standing_text: Mapping[str, str]  # language -> what is publicly known of it
    etsi_policy: bool = False  # the token names the ETSI baseline time-stamp policy


@dataclass(frozen=True)
class Renewal:
    """Archive time-stamps (RFC 4998) over the time-stamps of some batches: each (genTime, signer), oldest
    first, the first over the batches' own time-stamps and each later one over the one before."""

    batches: tuple[str, ...]
    stamps: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Author:
    """The account's owner as the account record states it (display name set by its owner)."""

    display_name: str
    contact: str | None = None


@dataclass(frozen=True)
class ReportSession:
    site: str
    session_id: str
    title: str
    account: str
    generated_at: str
    steps: Sequence[ReportStep]
    image: Callable[[str], bytes | None]  # hex digest -> bytes to embed, or None
    keys: Mapping[str, str] = field(default_factory=dict)  # key id -> fingerprint
    dev_tsas: frozenset[str] = frozenset()
    in_bundle: bool = True
    # The dashboard's variant: images as links to the service (thumbnails that open full size)
    # instead of data: URIs, and links to steps outside the page shown. None keeps the bundle's form.
    image_url: Callable[[str], str] | None = None  # hex digest -> URL of the (raster-checked) image
    step_url: Callable[[str], str] | None = None  # record id -> URL of that step
    lang: str = "en"
    tsas: Sequence[TsaInfo] = ()
    renewals: Sequence[Renewal] = ()
    author: Author | None = None
    languages: tuple[str, ...] = ("en", "zh")  # the report languages beside this one (links between them)
    # Work shared by the sections of one rendering: a prompt's diff appears in the timeline and in the
    # prompts section, and a session often goes back and forth between the same prompts.
    diffs: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)
    # What does not depend on the language, made once for every language rendered from the same steps
    # (``derive.derived_files`` passes the same dicts): an image shown at several steps is read and
    # encoded once (blob hex -> data: URI or None, its bytes), a captured text escaped once.
    images: dict[str, tuple[str | None, int]] = field(default_factory=dict, compare=False, repr=False)
    texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PromptState:
    """What a step's diffs compare against: the last prompt text and parameters before it."""

    prompt: str | None = None
    params: Mapping[str, Any] | None = None

    def after(self, record: Record) -> PromptState:
        text, params = record.value.get("text"), record.value.get("params")
        prompt = text if record.type in ("prompt", "edit") and isinstance(text, str) and text else self.prompt
        human_params = record.type == "parameters" and record.actor == "user"
        return PromptState(prompt, params if human_params and isinstance(params, dict) and params else self.params)
