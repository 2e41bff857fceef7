"""The timeline: one ``<li>`` per step, in the bundle report and on the dashboard's session pages.

Everything captured is untrusted (AI output, page titles, prompts): every piece of text goes through
``html.escape``; nothing captured ever becomes markup, an attribute name, a URL scheme or CSS.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..clock import CLOCK_TOLERANCE_S, clock_gap_s, describe_gap
from ..model import Record
from . import diff, timefmt
from .facts import ChainBreak, chain_breaks, drift_text, superseded_ids
from .i18n import Text
from .session import PromptState, ReportSession, ReportStep

MAX_IMAGE_EMBED = 8 << 20
MAX_EMBED_TOTAL = 64 << 20
# An unchanged stretch longer than this is shortened in a diff to its two ends (the full text follows).
DIFF_CONTEXT = 160
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def raster_type(data: bytes) -> str | None:
    """The media type of PNG, JPEG, GIF or WebP bytes by their magic; None for anything else (SVG can
    carry script, so it is never shown as an image)."""
    media = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    if media is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media = "image/webp"
    return media


def image_data_uri(data: bytes) -> str | None:
    """A data: URI for PNG, JPEG, GIF or WebP bytes; None for anything else (SVG can carry script)."""
    media = raster_type(data)
    if media is None:
        return None
    return f"data:{media};base64," + base64.b64encode(data).decode("ascii")


def diff_html(before: str, after: str, t: Text, memo: dict[tuple[str, str], str] | None = None) -> str:
    """A word diff as ``<del>``/``<ins>``; past the diff's work budget, "changed, N characters".
    ``memo`` keeps diffs already rendered in ``t``'s language (``ReportSession.diffs``)."""
    if memo is None:
        return _diff_html(before, after, t)
    key = (before, after)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _diff_html(before, after, t)
    return found


def _diff_html(before: str, after: str, t: Text) -> str:
    result = diff.word_diff(before, after)
    if result.ops is None:
        return f"<p class=\"changed\">{e(t('diff_too_big', n=len(after)))}</p><pre class=\"text\">{e(before)}</pre>"
    out = []
    last = len(result.ops) - 1
    for i, (op, text) in enumerate(result.ops):
        if op == "equal":
            out.append(_elide(text, t, head=i > 0, tail=i < last))
        elif op == "delete":
            out.append(f"<del>{e(text)}</del>")
        else:
            out.append(f"<ins>{e(text)}</ins>")
    return "<p class=\"diffs\">" + "".join(out) + "</p>"


def _elide(text: str, t: Text, *, head: bool, tail: bool) -> str:
    """An unchanged stretch, shortened to the context next to the changes around it."""
    keep_start = DIFF_CONTEXT if head else 0
    keep_end = DIFF_CONTEXT if tail else 0
    if len(text) <= keep_start + keep_end + 40:
        return e(text)
    skipped = len(text) - keep_start - keep_end
    return (e(text[:keep_start]) + f"<span class=\"elided\">{e(t('diff_unchanged', n=skipped))}</span>"
            + e(text[len(text) - keep_end:]))


def short(value: object) -> str:
    if type(value) is int:
        return str(value)  # what json.dumps writes for an int, without its encoder
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:200] + "…"


def step_href(session: ReportSession, record_id: str) -> str:
    return session.step_url(record_id) if session.step_url else f"#r-{record_id}"


def timeline_items(session: ReportSession, steps: Sequence[ReportStep],
                   state: PromptState | None = None) -> list[str]:
    """One ``<li>`` per step; ``state`` carries the prompt and parameters before the first of them, so a
    page of a long timeline diffs against the step before the page."""
    state = state or PromptState()
    budget = [MAX_EMBED_TOTAL]
    records = [s.record for s in session.steps]
    gone = superseded_ids(records)
    # Only a bundle is sure to hold the whole chain; a dashboard page holds a slice of it.
    breaks = {b.record_id: b for b in chain_breaks(records)} if session.in_bundle else {}
    words = _Words(session)
    items = []
    for step in steps:
        items.append(_step(session, words, step, state, budget, gone, breaks))
        state = state.after(step.record)
    return items


class _Words:
    """The escaped words of one timeline, made once: every step repeats them, and the steps of one batch
    share their "time-stamped by" lines and the steps of one device their signature line."""

    def __init__(self, session: ReportSession) -> None:
        self.session = session
        self.t = t = Text(session.lang)
        self.kinds = {k[5:]: t.html(k) for k in _KINDS}
        self.by = {"user": t.html("by_user"), "ai": t.html("by_ai")}
        self.captured, self.received = t.html("t_captured"), t.html("t_received")
        self.pending = f"<dt>{e(t('t_stamped', tsa='TSA'))}</dt><dd class=\"warn\">{t.html('t_pending')}</dd>"
        self.no_devsig = f"<p class=\"warn\">{t.html('devsig_none')}</p>"
        self.diff_label = t.html("diff_label")
        self.record_line = t.html("record_line", id="\0", digest="\1")
        self.batch_line = t.html("batch_line", batch="\0")
        self._stamped: dict[tuple[tuple[str, str], ...], str] = {}
        self._devsig: dict[str, str] = {}

    def stamped(self, tsa_times: Mapping[str, str]) -> str:
        key = tuple(sorted(tsa_times.items()))
        found = self._stamped.get(key)
        if found is None:
            found = self._stamped[key] = "\n".join(self._stamped_line(tsa, when) for tsa, when in key)
        return found

    def _stamped_line(self, tsa: str, when: str) -> str:
        t = self.t
        label = t("t_stamped_dev", tsa=tsa) if tsa in self.session.dev_tsas else t("t_stamped", tsa=tsa)
        return f"<dt>{e(label)}</dt><dd>{timefmt.element(when, t.lang)}</dd>"

    def devsig(self, key: str) -> str:
        found = self._devsig.get(key)
        if found is None:
            found = self._devsig[key] = f"<p class=\"devsig\">{e(self.t('devsig', key=key))}</p>"
        return found


def _step(session: ReportSession, w: _Words, step: ReportStep, state: PromptState, budget: list[int],
          gone: Mapping[str, Record], breaks: Mapping[str, ChainBreak]) -> str:
    t = w.t
    r = step.record
    value = r.value
    cls = f"step kind-{r.type}" + (" pending" if step.status != "stamped" else "")
    cls += " superseded" if r.id in gone else ""
    cls += " broken" if r.id in breaks else ""
    kind = w.kinds.get(r.type) or e(r.type)
    out = [f"<li class=\"{e(cls)}\" id=\"r-{e(r.id)}\">",
           f"<div class=\"head\"><span class=\"seq\">#{r.seq}</span> <span class=\"kind\">{kind}</span> "
           f"<span class=\"actor\">{w.by['user'] if r.actor == 'user' else w.by['ai']}</span></div>"]
    if r.id in breaks:
        b = breaks[r.id]
        out.append(f"<p class=\"bad\">{e(t('chain_break', what=t(b.key, **b.fields)))}</p>")
    if r.id in gone:
        later = gone[r.id]
        link = f"<a href=\"{e(step_href(session, later.id))}\">#{later.seq}</a>"
        words = e(t("superseded_by", seq="\0")).replace("\0", link)
        out.append(f"<p class=\"superseded\">{words}</p>")
    refs = value.get("refs")
    if isinstance(refs, dict) and isinstance(refs.get("supersedes"), str):
        named = f"<code>{e(refs['supersedes'])}</code>"
        words = e(t("supersedes", id="\0")).replace("\0", named)
        out.append(f"<p class=\"supersedes\">{words}</p>")
    out.append("<dl class=\"times\">")
    out.append(f"<dt>{w.captured}</dt><dd>{timefmt.element(r.captured_at, t.lang)}</dd>")
    if step.received_at:
        out.append(f"<dt>{w.received}</dt><dd>{timefmt.element(step.received_at, t.lang)}</dd>")
    out.append(w.stamped(step.tsa_times) if step.tsa_times else w.pending)
    out.append("</dl>")
    gap = clock_gap_s(r.captured_at, step.received_at) if step.received_at else None
    if gap is not None:
        when, amount = describe_gap(gap)
        words = t("clock_" + when, amount=amount, tolerance=CLOCK_TOLERANCE_S // 60)
        out.append(f"<p class=\"warn clock\">{e(words)}</p>")
    out.append(w.devsig(step.device_key) if step.device_key else w.no_devsig)
    text = value.get("text")
    if r.type == "drift":
        params = value.get("params")
        code = params.get("code") if isinstance(params, dict) else None
        out.append(f"<p class=\"gap\">{e(t('gap_mark', code=code if isinstance(code, str) else '?'))}</p>"
                   f"<pre class=\"text\">{e(drift_text(r))}</pre>")
    elif isinstance(text, str) and text:
        if r.type in ("prompt", "edit") and state.prompt is not None and state.prompt != text:
            out.append(f"<div class=\"diff\"><div class=\"label\">{w.diff_label}</div>"
                       f"{diff_html(state.prompt, text, t, session.diffs)}</div>")
        shown = session.texts.get(text)
        if shown is None:
            shown = session.texts[text] = f"<pre class=\"text\">{e(text)}</pre>"
        out.append(shown)
    params = value.get("params")
    if isinstance(params, dict) and params and r.type != "drift":
        rows = "".join(f"<tr><th>{e(k)}</th><td>{e(short(v))}</td></tr>" for k, v in sorted(params.items()))
        out.append(f"<table class=\"params\">{rows}</table>")
        if r.type == "parameters" and r.actor == "user":
            changes = _param_changes(state.params or {}, params, t)
            if changes:
                out.append("<p class=\"changed\">" + e("; ".join(changes)) + "</p>")
    refs = value.get("refs")
    if isinstance(refs, dict) and refs:
        out.append("<p class=\"refs\">" + ", ".join(f"{e(k)} <code>{e(v)}</code>" for k, v in sorted(refs.items()))
                   + "</p>")
    for att in r.attachments:
        out.append(attachment_html(session, att.digest[7:], att.media_type, att.bytes, att.role, budget))
    rid = f"<code>{e(r.id)}</code>"
    if session.step_url is not None:
        rid = f"<a href=\"{e(session.step_url(r.id))}\">{rid}</a>"
    line = w.record_line.replace("\0", rid).replace("\1", f"<code>{e(r.digest)}</code>")
    if step.batch_id:
        line += w.batch_line.replace("\0", f"<code>{e(step.batch_id)}</code>")
    out.append(f"<p class=\"digest\">{line}</p></li>")
    return "\n".join(out)


_KINDS = frozenset({"kind_prompt", "kind_output", "kind_edit", "kind_regenerate", "kind_parameters",
                    "kind_selection", "kind_note", "kind_import", "kind_identity", "kind_drift"})


def _param_changes(before: Mapping[str, Any], after: Mapping[str, Any], t: Text) -> list[str]:
    """Only the keys this record names (a key it does not name was not touched, never "unset")."""
    out = []
    for k in sorted(after):
        if k not in before:
            out.append(t("param_set", key=k, new=short(after[k])))
        elif before[k] != after[k]:
            out.append(t("param_changed", key=k, old=short(before[k]), new=short(after[k])))
    return out


def attachment_html(session: ReportSession, hexd: str, media: str, size: int, role: str, budget: list[int]) -> str:
    t = Text(session.lang)
    caption = e(t("attachment_caption", role=role, media=media, size=size, digest=hexd[:16]))
    if session.image_url is not None and media in RASTER_TYPES:
        # Served by the service, which checks the magic bytes again before it answers as an image.
        url = e(session.image_url(hexd))
        return (f"<figure><a href=\"{url}\" target=\"_blank\" rel=\"noopener\"><img class=\"thumb\" "
                f"src=\"{url}\" loading=\"lazy\" alt=\"{e(role)}\"></a><figcaption>{caption}</figcaption>"
                "</figure>")
    if media.startswith("image/") and size <= MAX_IMAGE_EMBED and size <= budget[0]:
        known = session.images.get(hexd)
        if known is None:
            data = session.image(hexd)
            known = session.images[hexd] = ((image_data_uri(data), len(data)) if data is not None else (None, 0))
        uri, length = known
        if uri is not None:
            budget[0] -= length
            return f"<figure><img src=\"{e(uri)}\" alt=\"{e(role)}\"><figcaption>{caption}</figcaption></figure>"
    if session.in_bundle:
        words = e(t("attachment_file", caption="\0", path="\1"))
        # The captured caption goes in last, so nothing in it is ever read as a placeholder.
        where = words.replace("\1", f"<code>blobs/{e(hexd)}</code>").replace("\0", caption)
    else:
        where = e(t("attachment_stored", caption="\0")).replace("\0", caption)
    return f"<p class=\"file\">{where}</p>"
