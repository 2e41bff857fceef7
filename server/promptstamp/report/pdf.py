"""report.pdf: the report as a PDF exhibit (the only fpdf2 importer). Unsigned here; ``pdfsign`` signs it.

Same facts and words as report.html (the same catalogues and counts), laid out for print: the first
page states the verification, who, what, when, the TSAs' standing and what the evidence proves and
does not; a development TSA is named in red at the top. Fonts are embedded (subset): Noto Sans CJK SC
from Debian's fonts-noto-cjk (SIL Open Font License 1.1, which allows embedding), so Chinese and
English render in any reader. Images are named by digest, not embedded: the bundle holds their bytes.
Long texts are cut at ``MAX_TEXT`` characters with a note; the records in the bundle hold them whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ..errors import ConfigError
from . import derive, timefmt
from .derive import EvidenceFiles
from .facts import chain_breaks, contribution, param_changes, site_accounts, superseded_ids
from .i18n import Text
from .layout import VERIFY_COMMANDS
from .session import ReportSession
from .timeline import short

# (path, index in the collection): Noto Sans CJK SC, then WenQuanYi Micro Hei (Apache 2.0 / GPLv3 with the
# font embedding exception).
FONT_CANDIDATES = (
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
)
MAX_TEXT = 20_000
MAX_STEPS = 2_000
RED = (166, 27, 27)
GREY = (85, 85, 85)
BLACK = (27, 27, 27)


def font_available() -> bool:
    """Whether report.pdf can be made here: without a CJK font, bundles carry the HTML reports only."""
    return any(path.is_file() for path, _ in FONT_CANDIDATES)


def font_file() -> tuple[Path, int]:
    for path, index in FONT_CANDIDATES:
        if path.is_file():
            return path, index
    raise ConfigError("report.pdf needs a CJK font: install Debian's fonts-noto-cjk (make installs it)")


class _Doc(FPDF):
    def __init__(self, moment: datetime) -> None:
        super().__init__(format="A4")
        path, index = font_file()
        self.add_font("cjk", fname=str(path), collection_font_number=index)
        self.set_auto_page_break(True, margin=15)
        self.set_creation_date(moment)
        self.set_margins(18, 16, 18)

    def say(self, text: str, *, size: float = 10, color: tuple[int, int, int] = BLACK, gap: float = 1.5) -> None:
        self.set_font("cjk", size=size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(gap)

    def heading(self, text: str, size: float = 14) -> None:
        self.ln(2)
        self.say(text, size=size, gap=2)


def _cut(text: str, t: Text) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f" … [+{len(text) - MAX_TEXT}]"


def _moment(session: ReportSession) -> datetime:
    """The document's date: the last time-stamp (or capture) time in the records, so the same records
    give the same bytes."""
    times = [when for s in session.steps for when in s.tsa_times.values()] or [s.record.captured_at
                                                                                 for s in session.steps]
    parsed = [m for m in (timefmt.parse(x) for x in times) if m is not None]
    return max(parsed) if parsed else datetime(2026, 1, 1, tzinfo=UTC)


def render_pdf(sessions: Sequence[ReportSession]) -> bytes:
    """One PDF with the report in each session's language, one after the other, deterministic."""
    if not sessions:
        raise ValueError("render_pdf needs at least one language")
    doc = _Doc(_moment(sessions[0]))
    doc.set_title(Text(sessions[0].lang)("title", title=sessions[0].title or sessions[0].session_id))
    doc.set_creator("PromptStamp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph the font lacks is drawn as a box, never a failed export
        for session in sessions:
            doc.add_page()
            _cover(doc, session)
            _contribution(doc, session)
            _timeline(doc, session)
        return bytes(doc.output())


def _cover(doc: _Doc, session: ReportSession) -> None:
    t = Text(session.lang)
    doc.say(t("heading"), size=18, gap=1)
    if session.title:
        doc.say(session.title, size=12, color=GREY)
    for tsa in session.tsas:
        if tsa.standing == "development":
            doc.say(f"{tsa.name}: {t('tsa_dev')}", size=11, color=RED)
    doc.heading(t("verdict_h"))
    doc.say(t("verdict_self"))
    doc.say(VERIFY_COMMANDS, size=8, color=GREY)
    doc.say(t("verdict_rederive"))
    steps = session.steps
    pending = sum(1 for s in steps if s.status != "stamped")
    unsigned = sum(1 for s in steps if not s.device_key)
    breaks = chain_breaks([s.record for s in steps])
    doc.say(t("at_export") + ":")
    doc.say("• " + t("n_records", n=len(steps)) + "; " + t("n_stamped", n=len(steps) - pending))
    if pending:
        doc.say("• " + t("n_pending", n=pending), color=RED)
    doc.say("• " + t("n_devsig", n=len(steps) - unsigned))
    if unsigned:
        doc.say("• " + t("n_nodevsig", n=unsigned), color=RED)
    doc.say("• " + (t("chain_broken", n=len(breaks)) if breaks else t("chain_ok")), color=RED if breaks else BLACK)

    doc.heading(t("who_h"))
    name = session.author.display_name if session.author else t("who_account_unnamed")
    line = f"{t('who_account')}: {name}; {t('who_account_id', id=session.account)}"
    if session.author and session.author.contact:
        line += "; " + t("who_contact", contact=session.author.contact)
    doc.say(line)
    doc.say(t("who_account_basis"), size=9, color=GREY)
    accounts = site_accounts([s.record for s in steps])
    for a in accounts:
        shown = " ".join(x for x in (a.name, f"<{a.email}>" if a.email else None, f"(id {a.id})") if x)
        doc.say(f"{t('who_site')}: " + t("who_site_value", site=a.site, name=shown))
        doc.say(t("who_site_basis", source=a.source), size=9, color=GREY)
    if not accounts:
        doc.say(f"{t('who_site')}: {t('who_site_none')}")
    doc.say(f"{t('what_h')}: " + t("what_value", id=session.session_id, site=session.site))
    times = sorted(s.record.captured_at for s in steps)
    if times:
        first, last = timefmt.parse(times[0]), timefmt.parse(times[-1])
        key, fields = timefmt.duration((last - first).total_seconds() if first and last else 0)
        doc.say(f"{t('when_h')}: " + t("when_value", first=timefmt.plain(times[0], t.lang),
                                          last=timefmt.plain(times[-1], t.lang), duration=t(key, **fields)))
    doc.heading(t("tsa_h"))
    for tsa in session.tsas:
        status = tsa.standing_text.get(t.lang, "") + (" " + t("tsa_status_qualified_claim") if tsa.etsi_policy else "")
        doc.say(f"{tsa.name} — {tsa.signer}", size=10, color=RED if tsa.standing == "development" else BLACK, gap=0)
        doc.say(status, size=9, color=RED if tsa.standing == "development" else GREY)
    doc.heading(t("proves_h"))
    for i in range(1, 6):
        doc.say("• " + t(f"proves_{i}"))


def _contribution(doc: _Doc, session: ReportSession) -> None:
    t = Text(session.lang)
    records = [s.record for s in session.steps]
    c = contribution(records)
    doc.heading(t("human_h"))
    doc.say(t("human_note"), size=9, color=GREY)
    human = [("c_prompts", c.prompts), ("c_edits", c.edits), ("c_params", c.params), ("c_retries", c.retries),
             ("c_selections", c.selections), ("c_notes", c.notes), ("c_uploads", c.uploads), ("c_imports", c.imports)]
    ai = [("c_outputs", c.outputs), ("c_images", c.images), ("c_models", ", ".join(c.models) or t("none")),
          ("c_gaps", c.gaps), ("c_superseded", c.superseded)]
    doc.say(t("human_col") + ": " + "; ".join(f"{t(k)} {v}" for k, v in human))
    doc.say(t("ai_col") + ": " + "; ".join(f"{t(k)} {v}" for k, v in ai))
    gone = superseded_ids(records)
    doc.heading(t("prompts_h"))
    shown = False
    for r in records:
        text = r.value.get("text")
        if r.type in ("prompt", "edit") and r.actor == "user" and r.id not in gone and isinstance(text, str):
            doc.say(f"#{r.seq} {t('kind_' + r.type)}, {timefmt.plain(r.captured_at, t.lang)}", size=9, color=GREY,
                    gap=0)
            doc.say(_cut(text, t))
            shown = True
    if not shown:
        doc.say(t("prompts_none"))
    doc.heading(t("params_h"))
    changes = param_changes(records)
    for r, changed in changes:
        words = [t("param_set", key=k, new=short(new)) if old is None else
                 t("param_changed", key=k, old=short(old), new=short(new)) for k, old, new in changed]
        doc.say(f"#{r.seq} {timefmt.plain(r.captured_at, t.lang)}: {'; '.join(words) or '='}")
    if not changes:
        doc.say(t("params_none"))


def _timeline(doc: _Doc, session: ReportSession) -> None:
    t = Text(session.lang)
    doc.heading(t("timeline_h"))
    breaks = {b.record_id: b for b in chain_breaks([s.record for s in session.steps])}
    for step in session.steps[:MAX_STEPS]:
        r = step.record
        kind = t(f"kind_{r.type}") if r.type in _KNOWN else r.type
        doc.say(f"#{r.seq} {kind} {t('by_user') if r.actor == 'user' else t('by_ai')}", size=11, gap=0.5)
        if r.id in breaks:
            b = breaks[r.id]
            doc.say(t("chain_break", what=t(b.key, **b.fields)), color=RED)
        lines = [f"{t('t_captured')}: {timefmt.plain(r.captured_at, t.lang)}"]
        if step.received_at:
            lines.append(f"{t('t_received')}: {timefmt.plain(step.received_at, t.lang)}")
        for tsa, when in sorted(step.tsa_times.items()):
            label = t("t_stamped_dev", tsa=tsa) if tsa in session.dev_tsas else t("t_stamped", tsa=tsa)
            lines.append(f"{label}: {timefmt.plain(when, t.lang)}")
        if not step.tsa_times:
            lines.append(f"{t('t_stamped', tsa='TSA')}: {t('t_pending')}")
        doc.say("\n".join(lines), size=8, color=GREY, gap=0.5)
        if not step.device_key:
            doc.say(t("devsig_none"), size=8, color=RED, gap=0.5)
        text = r.value.get("text")
        if isinstance(text, str) and text:
            doc.say(_cut(text, t), size=9)
        for att in r.attachments:
            doc.say(t("attachment_file", caption=t("attachment_caption", role=att.role, media=att.media_type,
                                                    size=att.bytes, digest=att.digest[7:23]),
                      path=f"blobs/{att.digest[7:]}"), size=8, color=GREY)
        doc.say(t("record_line", id=r.id, digest=r.digest), size=7, color=GREY, gap=3)
    if len(session.steps) > MAX_STEPS:
        doc.say(f"[… {len(session.steps) - MAX_STEPS} → report.html]", color=GREY)


_KNOWN = frozenset({"prompt", "output", "edit", "regenerate", "parameters", "selection", "note", "import",
                    "identity", "drift"})


def exhibit_pdf(files: EvidenceFiles, languages: Sequence[str]) -> bytes:
    """The unsigned exhibit for a bundle's evidence: the report in each language, in order."""
    steps, tsas = derive.steps_of(files)
    return render_pdf([derive.report_session(files, lang, languages, steps, tsas) for lang in languages])
