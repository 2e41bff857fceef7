"""The files of a bundle that are derived from its records: ``report.html``, ``report.zh.html`` and
``README.txt``. The exporter writes them and the verifier re-derives them from the verified files and
requires the same bytes, so nothing in a bundle is trusted as text (DESIGN.md, second release).

Everything used here is in the bundle: records, receipts, the batches' tokens (their times, signers
and policies), the service keys and the blobs. Nothing depends on when or where it is rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .. import canonical, ers, signing, tokens
from ..errors import PromptStampError
from ..evidence import SessionEvidence
from ..model import Receipt, Record
from ..statements import ACCOUNT_SESSION, SERVICE_SITE
from . import tsa_status
from .layout import render_report
from .readme import render_readme
from .session import Author, Renewal, ReportSession, ReportStep, TsaInfo
from .timefmt import iso_ms
from .timeline import MAX_IMAGE_EMBED

REPORT_FILES: Mapping[str, str] = {"en": "report.html", "zh": "report.zh.html"}
README = "README.txt"
LANG_CHOICES: Mapping[str, tuple[str, ...]] = {"en": ("en",), "zh": ("zh",), "both": ("en", "zh")}


@dataclass(frozen=True)
class EvidenceFiles:
    """What the derived files are made from, as the bundle holds it."""

    records: Sequence[tuple[bytes, bytes]]  # (record RFC 8785 bytes, receipt RFC 8785 bytes)
    batch_tokens: Mapping[str, Mapping[str, bytes]]  # batch id -> TSA name -> token DER (empty: pending)
    keys: Mapping[str, str]  # service key id -> SPKI PEM
    image: Callable[[str], bytes | None]  # blob hex -> bytes (None when absent or too large to embed)
    # Records and receipts the caller has parsed already (the verifier's record checks), keyed by their
    # (record bytes, receipt bytes): rendering never parses the same bytes a second time. Pairs not
    # here are parsed once, by ``parsed_records``.
    parsed: Mapping[tuple[bytes, bytes], tuple[Record, Receipt]] = field(default_factory=dict)
    # Tokens the caller has parsed already (DER -> what it says); others are parsed here.
    token_infos: Mapping[bytes, tokens.TokenInfo] = field(default_factory=dict)
    evidence_records: Mapping[str, bytes] = field(default_factory=dict)  # batch id -> its evidence.ers


def from_evidence(evidence: SessionEvidence) -> EvidenceFiles:
    def image(hexd: str) -> bytes | None:
        with evidence.open_blob(hexd) as f:
            data = f.read(MAX_IMAGE_EMBED + 1)
        return data if len(data) <= MAX_IMAGE_EMBED else None

    # The service's own records (account, pairing) are in the bundle too: the verifier renders from all.
    return EvidenceFiles(records=[(r.record_bytes, r.receipt_bytes) for r in (*evidence.records, *evidence.statements)],
                         batch_tokens={bid: dict(b.tokens) for bid, b in evidence.batches.items()},
                         keys=dict(evidence.keys), image=image,
                         evidence_records={bid: b.evidence_record for bid, b in evidence.batches.items()
                                           if b.evidence_record is not None})


def languages_in(names: Sequence[str]) -> tuple[str, ...]:
    """The report languages a bundle holds, by its file names."""
    return tuple(lang for lang, name in REPORT_FILES.items() if name in names)


def derived_files(files: EvidenceFiles, languages: Sequence[str]) -> dict[str, bytes]:
    """File name -> bytes of every derived file for these report languages."""
    parsed = parsed_records(files)
    steps, tsas = steps_of(files, parsed)
    out = {README: render_readme(files, steps, tsas, languages).encode("utf-8")}
    images: dict[str, tuple[str | None, int]] = {}
    texts: dict[str, str] = {}
    for lang in languages:
        session = replace(report_session(files, lang, languages, steps, tsas, parsed), images=images, texts=texts)
        out[REPORT_FILES[lang]] = render_report(session).encode("utf-8")
    return out


ParsedRecord = tuple[Record, "Receipt | PromptStampError"]


def parsed_records(files: EvidenceFiles) -> list[ParsedRecord]:
    """Each record with its receipt, parsed once (or taken from ``files.parsed``), in order; the first
    record or step receipt that does not parse raises. A service record's receipt is kept as its error
    instead: it is needed only when it is the first receipt (the account's name)."""
    out: list[ParsedRecord] = []
    for record_bytes, receipt_bytes in files.records:
        known = files.parsed.get((record_bytes, receipt_bytes))
        if known is not None:
            out.append(known)
            continue
        rec = Record.from_canonical(record_bytes)
        try:
            receipt: Receipt | PromptStampError = Receipt.from_json(canonical.parse_json(receipt_bytes))
        except PromptStampError as e:
            if rec.site != SERVICE_SITE:
                raise
            receipt = e
        out.append((rec, receipt))
    return out


def _receipt(parsed: ParsedRecord) -> Receipt:
    receipt = parsed[1]
    if isinstance(receipt, PromptStampError):
        raise receipt
    return receipt


def report_session(files: EvidenceFiles, lang: str, languages: Sequence[str] = ("en", "zh"),
                   steps: Sequence[ReportStep] | None = None,
                   tsas: Sequence[TsaInfo] | None = None,
                   parsed: Sequence[ParsedRecord] | None = None) -> ReportSession:
    if parsed is None:
        parsed = parsed_records(files)
    if steps is None or tsas is None:
        steps, tsas = steps_of(files, parsed)
    first = steps[0].record if steps else None
    titles = [s.record.value["session"].get("title") for s in steps if isinstance(s.record.value.get("session"), dict)]
    title = next((x for x in reversed(titles) if isinstance(x, str) and x), "")
    account = _receipt(parsed[0]).account if parsed else ""
    keys = {kid: signing.fingerprint(signing.public_key_from_pem(pem)) for kid, pem in sorted(files.keys.items())}
    return ReportSession(
        site=first.site if first else "", session_id=first.session_id if first else "", title=title,
        account=account, generated_at="", steps=steps, image=files.image, keys=keys,
        dev_tsas=frozenset(t.name for t in tsas if t.standing == "development"), lang=lang, tsas=tsas,
        renewals=renewals_of(files), author=_author(parsed), languages=tuple(languages))


def renewals_of(files: EvidenceFiles) -> list[Renewal]:
    """The batches' archive time-stamps, batches carried by the same chain together. What they prove is for
    the verifier to judge; a record it cannot read is left out here (the verifier fails it by name)."""
    chains: dict[tuple[tuple[str, str], ...], list[str]] = {}
    # One renewal's token covers many batches, and the verifier has parsed it already: each parsed once.
    infos_of: dict[bytes, tokens.TokenInfo] = dict(files.token_infos)
    for bid, der in sorted(files.evidence_records.items()):
        try:
            infos = []
            for stamp in ers.decode(der):
                if stamp.token not in infos_of:
                    infos_of[stamp.token] = tokens.token_info(stamp.token)
                infos.append(infos_of[stamp.token])
        except PromptStampError:
            continue
        stamps = tuple((iso_ms(i.gen_time), i.signer_subject or i.tsa_name or "") for i in infos)
        chains.setdefault(stamps, []).append(bid)
    return [Renewal(tuple(bids), stamps) for stamps, bids in sorted(chains.items(), key=lambda c: (c[0], c[1]))]


def _author(parsed: Sequence[ParsedRecord]) -> Author | None:
    """The display name and contact of the newest account record (the owner's own statement, signed
    and stamped like any record), if the bundle carries one."""
    found: tuple[str, Author] | None = None
    for rec, _receipt in parsed:
        params = rec.value.get("params")
        if rec.site != SERVICE_SITE or rec.session_id != ACCOUNT_SESSION or not isinstance(params, dict):
            continue
        name = params.get("display_name")
        contact = params.get("contact")
        if isinstance(name, str) and name and (found is None or rec.captured_at >= found[0]):
            found = (rec.captured_at, Author(name, contact if isinstance(contact, str) and contact else None))
    return found[1] if found else None


def steps_of(files: EvidenceFiles,
             parsed: Sequence[ParsedRecord] | None = None) -> tuple[list[ReportStep], list[TsaInfo]]:
    times: dict[str, dict[str, str]] = {}
    tsas: dict[str, TsaInfo] = {}
    for bid, batch in sorted(files.batch_tokens.items()):
        times[bid] = {}
        for tsa, token in sorted(batch.items()):
            try:
                info = files.token_infos.get(token) or tokens.token_info(token)
            except PromptStampError:
                times[bid][tsa] = "(unreadable token)"
                continue
            times[bid][tsa] = iso_ms(info.gen_time)
            if tsa not in tsas:
                found = tsa_status.standing(info.signer_subject, info.tsa_name, info.policy)
                tsas[tsa] = TsaInfo(name=tsa, signer=info.signer_subject or info.tsa_name or "",
                                    standing=found.key, standing_text={"en": found.en, "zh": found.zh},
                                    etsi_policy=tsa_status.claims_etsi_policy(info.policy))
    steps = []
    for pair in parsed if parsed is not None else parsed_records(files):
        rec = pair[0]
        if rec.site == SERVICE_SITE:
            continue  # the account and pairing records: the service's statements, shown as "who", not as steps
        receipt = _receipt(pair)
        stamped = times.get(receipt.batch.id, {})
        steps.append(ReportStep(rec, receipt.received_at, receipt.batch.id, stamped,
                                "stamped" if stamped else "pending", receipt.device_key))
    steps.sort(key=lambda s: (s.record.captured_at, s.record.seq, s.record.id))  # the order the steps happened
    return steps, [tsas[name] for name in sorted(tsas)]
