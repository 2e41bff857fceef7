"""The report's sections about the human's contribution: counts, prompts with their diffs, the
parameters the human set, selections (with the outputs they were chosen among), notes and gaps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model import Record
from . import timefmt
from .facts import Contribution, contribution, drift_text, param_changes, superseded_ids
from .i18n import Text
from .session import ReportSession
from .timeline import diff_html, e, short, step_href


def summary(session: ReportSession) -> dict[str, object]:
    """The creative-process counts as label -> value in the session's language (the dashboard's table)."""
    t = Text(session.lang)
    c = contribution([s.record for s in session.steps])
    return {**{t(k): v for k, v in _human_rows(c)}, **{t(k): v for k, v in _ai_rows(c, t)}}


def summary_html(facts: Mapping[str, object], lang: str = "en") -> str:
    """The counts as a table (the dashboard's summary; the bundle report uses ``contribution_html``)."""
    t = Text(lang)
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts.items())
    return (f"<section><h2>{e(t('human_h'))}</h2><p class=\"note\">{e(t('human_note'))}</p>"
            f"<table class=\"facts\">{rows}</table></section>")


def _human_rows(c: Contribution) -> list[tuple[str, object]]:
    return [("c_prompts", c.prompts), ("c_edits", c.edits), ("c_params", c.params), ("c_retries", c.retries),
            ("c_selections", c.selections), ("c_notes", c.notes), ("c_uploads", c.uploads),
            ("c_imports", c.imports)]


def _ai_rows(c: Contribution, t: Text) -> list[tuple[str, object]]:
    return [("c_outputs", c.outputs), ("c_images", c.images), ("c_models", ", ".join(c.models) or t("none")),
            ("c_gaps", c.gaps), ("c_superseded", c.superseded)]


def contribution_html(session: ReportSession) -> str:
    t = Text(session.lang)
    c = contribution([s.record for s in session.steps])
    human = "".join(f"<tr><td>{e(t(k))}</td><td class=\"n\">{e(v)}</td></tr>" for k, v in _human_rows(c))
    ai = "".join(f"<tr><td>{e(t(k))}</td><td class=\"n\">{e(v)}</td></tr>" for k, v in _ai_rows(c, t))
    return (f"<section class=\"contribution\"><h2>{e(t('human_h'))}</h2><p class=\"note\">{e(t('human_note'))}</p>"
            f"<div class=\"cols\"><table class=\"facts\"><tr><th colspan=\"2\">{e(t('human_col'))}</th></tr>{human}"
            f"</table><table class=\"facts\"><tr><th colspan=\"2\">{e(t('ai_col'))}</th></tr>{ai}</table></div>"
            "</section>")


def prompts_html(session: ReportSession) -> str:
    t = Text(session.lang)
    records = [s.record for s in session.steps]
    gone = superseded_ids(records)
    items, last = [], None
    for r in records:
        text = r.value.get("text")
        if r.type not in ("prompt", "edit") or r.actor != "user" or r.id in gone or not isinstance(text, str):
            continue
        head = (f"<a href=\"{e(step_href(session, r.id))}\">#{r.seq}</a> {e(t('kind_' + r.type))}, "
                f"{timefmt.element(r.captured_at, t.lang)}")
        body = (diff_html(last, text, t, session.diffs) if last is not None and last != text
                else f"<pre class=\"text\">{e(text)}</pre>")
        items.append(f"<li>{head}{body}</li>")
        last = text
    inner = f"<ol class=\"prompts\">{''.join(items)}</ol>" if items else f"<p class=\"note\">{e(t('prompts_none'))}</p>"
    return f"<section><h2>{e(t('prompts_h'))}</h2>{inner}</section>"


def params_html(session: ReportSession) -> str:
    t = Text(session.lang)
    items = []
    for r, changes in param_changes([s.record for s in session.steps]):
        words = [t("param_set", key=k, new=short(new)) if old is None else
                 t("param_changed", key=k, old=short(old), new=short(new)) for k, old, new in changes]
        items.append(f"<li><a href=\"{e(step_href(session, r.id))}\">#{r.seq}</a> "
                     f"{timefmt.element(r.captured_at, t.lang)}: {e('; '.join(words) or '=')}</li>")
    inner = f"<ul>{''.join(items)}</ul>" if items else f"<p class=\"note\">{e(t('params_none'))}</p>"
    return f"<section><h2>{e(t('params_h'))}</h2>{inner}</section>"


def _candidates(records: Sequence[Record], target: Record) -> list[Record]:
    """The AI outputs the human chose among: the target's siblings (same parent message), or else the
    outputs since the last prompt or edit before it."""
    outputs = [r for r in records if r.actor == "ai" and r.type in ("output", "regenerate")]
    refs = target.value.get("refs")
    parent = refs.get("parent_message_id") if isinstance(refs, dict) else None
    if isinstance(parent, str):
        siblings = [r for r in outputs if isinstance(r.value.get("refs"), dict)
                    and r.value["refs"].get("parent_message_id") == parent]
        if target in siblings:
            return siblings
    start = max((r.captured_at for r in records
                 if r.type in ("prompt", "edit") and r.captured_at <= target.captured_at), default="")
    return [r for r in outputs if r.captured_at >= start and r.captured_at <= target.captured_at] or [target]


def selection_html(session: ReportSession) -> str:
    """The creator's selections (with the outputs they were made among) and notes."""
    t = Text(session.lang)
    records = [s.record for s in session.steps]
    gone = superseded_ids(records)
    by_message: dict[str, Record] = {}
    for r in records:
        refs = r.value.get("refs")
        if r.actor == "ai" and r.id not in gone and isinstance(refs, dict) and isinstance(refs.get("message_id"), str):
            by_message[refs["message_id"]] = r
    live = [r for r in records if r.id not in gone]
    items = []
    for r in live:
        if r.type not in ("selection", "note"):
            continue
        when = timefmt.plain(r.captured_at, t.lang)
        if r.type == "selection":
            refs = r.value.get("refs")
            target = by_message.get(refs.get("message_id", "")) if isinstance(refs, dict) else None
            if target is None:
                items.append(f"<li>{e(t('selected_unknown', seq=r.seq, time=when))}</li>")
                continue
            among = _candidates(live, target)
            options = "".join(
                f"<li class=\"{'chosen' if o.id == target.id else 'other'}\"><a href=\"{e(step_href(session, o.id))}\">"
                f"#{o.seq}</a> <q>{e(_excerpt(o))}</q></li>" for o in among)
            items.append(f"<li>{e(t('selected', seq=r.seq, time=when, target=target.seq, n=len(among)))}"
                         f"<ul class=\"among\">{options}</ul></li>")
        elif r.type == "note":
            text = r.value.get("text")
            shown = text if isinstance(text, str) else ""
            items.append(f"<li>{e(t('note', seq=r.seq, time=when))} <q>{e(shown)}</q></li>")
    inner = f"<ul>{''.join(items)}</ul>" if items else f"<p class=\"note\">{e(t('selections_none'))}</p>"
    return f"<section><h2>{e(t('selections_h'))}</h2>{inner}</section>"


def _excerpt(r: Record) -> str:
    text = r.value.get("text")
    if isinstance(text, str) and text:
        return text if len(text) <= 160 else text[:160] + "…"
    return ", ".join(f"{a.media_type} sha256 {a.digest[7:23]}…" for a in r.attachments)


def gaps_html(session: ReportSession) -> str:
    """The capture gaps the extension evidenced (drift records), listed where a reader looks first."""
    t = Text(session.lang)
    items = []
    for s in session.steps:
        r = s.record
        if r.type == "drift":
            words = t("gap", seq=r.seq, time=timefmt.plain(r.captured_at, t.lang), what=drift_text(r))
            items.append(f"<li><a href=\"{e(step_href(session, r.id))}\">#{r.seq}</a> {e(words)}</li>")
    return f"<section class=\"gaps\"><h2>{e(t('gaps_h'))}</h2><ul>{''.join(items)}</ul></section>" if items else ""
