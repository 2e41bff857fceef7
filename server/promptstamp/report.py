"""report.html: the session's timeline for a judge, a lawyer or the creator. No I/O, no Flask.

Self-contained by decision: one file, no external resources, no script, images embedded as
``data:`` URIs (raster formats only, checked by their magic bytes), so it reads the same opened
from the ZIP, from an e-mail or from a court's document system. Images too large to embed are
named by their relative path ``blobs/<hex>``, which resolves when the bundle is extracted.

Everything captured is untrusted (AI output, page titles, prompts): every piece of text goes through
``html.escape``; nothing captured ever becomes markup, an attribute name, a URL scheme or CSS.
The page states facts (what was recorded, when, by whom it was stamped), never legal conclusions.
"""

from __future__ import annotations

import base64
import difflib
import html
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import canonical, signing, tokens
from .bundle_names import asset_text
from .errors import PromptStampError
from .evidence import SessionEvidence
from .model import Receipt, Record, iso_utc, parse_timestamp

MAX_IMAGE_EMBED = 8 << 20
MAX_EMBED_TOTAL = 64 << 20
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_KIND_LABEL = {"prompt": "Prompt", "output": "AI output", "edit": "Edit", "regenerate": "Regeneration",
               "parameters": "Parameters", "selection": "Selection", "note": "Note", "import": "Import",
               "identity": "Site account", "drift": "Capture gap"}


@dataclass(frozen=True)
class ReportStep:
    record: Record
    received_at: str | None = None
    batch_id: str | None = None
    tsa_times: Mapping[str, str] = field(default_factory=dict)  # tsa name -> genTime (RFC 3339)
    status: str = "stamped"  # 'stamped' | 'pending'


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


@dataclass(frozen=True)
class PromptState:
    """What a step's diffs compare against: the last prompt text and parameters before it."""

    prompt: str | None = None
    params: Mapping[str, Any] | None = None

    def after(self, record: Record) -> PromptState:
        text, params = record.value.get("text"), record.value.get("params")
        prompt = text if record.type in ("prompt", "edit") and isinstance(text, str) and text else self.prompt
        return PromptState(prompt, params if isinstance(params, dict) and params else self.params)


def _e(value: object) -> str:
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


def _word_diff(before: str, after: str) -> str:
    a, b = before.split(), after.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(_e(" ".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{_e(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{_e(' '.join(b[j1:j2]))}</ins>")
    return " ".join(out)


def _params_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    changes = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            old = _short(before[k]) if k in before else "(unset)"
            new = _short(after[k]) if k in after else "(unset)"
            changes.append(f"{_e(k)}: {_e(old)} &rarr; {_e(new)}")
    return changes


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:200] + "…"


def summary(session: ReportSession) -> dict[str, object]:
    """The creative-process facts, counted from the records (no judgement)."""
    recs = [s.record for s in session.steps]
    kinds = Counter(r.type for r in recs)
    models = sorted({str(r.value["params"]["model"]) for r in recs
                     if isinstance(r.value.get("params"), dict) and "model" in r.value["params"]})
    tools = sorted({str(r.value["client"].get("adapter", r.value["client"].get("app")))
                    for r in recs if isinstance(r.value.get("client"), dict)})
    param_changes, last = 0, None
    for r in recs:
        params = r.value.get("params")
        if isinstance(params, dict):
            if last is not None and params != last:
                param_changes += 1
            last = params
    times = sorted(r.captured_at for r in recs)
    span = ""
    if times:
        delta = parse_timestamp(times[-1], "t") - parse_timestamp(times[0], "t")
        span = f"{times[0]} to {times[-1]} ({_duration(delta.total_seconds())})"
    return {"steps": len(recs), "prompts": kinds["prompt"], "edits": kinds["edit"],
            "regenerations": kinds["regenerate"], "parameter changes": param_changes,
            "selections": kinds["selection"], "notes": kinds["note"], "AI outputs": kinds["output"],
            "images": sum(1 for r in recs for a in r.attachments if a.media_type.startswith("image/")),
            "time span": span, "models": ", ".join(models) or "(not recorded)",
            "tools": ", ".join(tools) or "(not recorded)",
            "not yet time-stamped": sum(1 for s in session.steps if s.status != "stamped")}


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def summary_html(facts: Mapping[str, object]) -> str:
    return "\n".join([
        "<section><h2>Creative process summary</h2>",
        "<p class=\"note\">Counted from the recorded steps. These are facts about the record, not conclusions "
        "about authorship.</p><table class=\"facts\">",
        *(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts.items()),
        "</table></section>"])


def timeline_items(session: ReportSession, steps: Sequence[ReportStep],
                   state: PromptState = PromptState()) -> list[str]:
    """One ``<li>`` per step; ``state`` carries the prompt and parameters before the first of them, so a
    page of a long timeline diffs against the step before the page."""
    budget = [MAX_EMBED_TOTAL]
    later = _superseded_by(session.steps)
    items = []
    for step in steps:
        items.append(_step(session, step, state.prompt, state.params, budget, later)[0])
        state = state.after(step.record)
    return items


def render_report(session: ReportSession) -> str:
    css = asset_text("report.css")
    facts = summary(session)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evidence report: {_e(session.title or session.session_id)}</title>",
        f"<style>{css}</style></head><body>",
        "<header><h1>Record of a creative session</h1>",
        f"<p class=\"sub\">{_e(session.title)}</p><dl class=\"meta\">",
        f"<dt>Whose work</dt><dd>account {_e(session.account)}</dd>",
        f"<dt>What</dt><dd>session <code>{_e(session.session_id)}</code> on {_e(session.site)}</dd>",
        f"<dt>When</dt><dd>{_e(facts['time span'])}</dd>",
        f"<dt>Report made</dt><dd>{_e(session.generated_at)}</dd>",
        "</dl>",
        _verify_box(session),
        "</header>",
        summary_html(facts),
    ]
    parts.append(selection_html(session))
    parts.append("<section><h2>Timeline</h2><ol class=\"timeline\">")
    parts += timeline_items(session, session.steps)
    parts.append("</ol></section>")
    parts.append(_keys_box(session))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _step_href(session: ReportSession, record_id: str) -> str:
    return session.step_url(record_id) if session.step_url else f"#r-{record_id}"


def selection_html(session: ReportSession) -> str:
    """The creator's selections (and the outputs they point to) and notes, before the full timeline."""
    by_message: dict[str, Record] = {}
    for step in session.steps:
        refs = step.record.value.get("refs")
        if step.record.actor == "ai" and isinstance(refs, dict) and isinstance(refs.get("message_id"), str):
            by_message[refs["message_id"]] = step.record
    items = []
    for step in session.steps:
        r = step.record
        if r.type == "selection":
            refs = r.value.get("refs")
            target = by_message.get(refs.get("message_id", "")) if isinstance(refs, dict) else None
            what = (f"the output of step <a href=\"{_e(_step_href(session, target.id))}\">#{target.seq}</a>" if target
                    else "an output not identified in this record")
            items.append(f"<li>Step #{r.seq} ({_e(r.captured_at)}): the creator selected {what}.</li>")
        elif r.type == "note":
            text = r.value.get("text")
            items.append(f"<li>Step #{r.seq} ({_e(r.captured_at)}): note by the creator: "
                         f"<q>{_e(text if isinstance(text, str) else '')}</q></li>")
    if not items:
        return ("<section><h2>Selection and notes</h2><p class=\"note\">No selection or note was recorded in "
                "this session.</p></section>")
    return "<section><h2>Selection and notes</h2><ul>" + "".join(items) + "</ul></section>"


def _verify_box(session: ReportSession) -> str:
    return (
        "<div class=\"verify\"><h2>How to verify</h2><p>This report is a reading aid. The evidence is the "
        "signed records, receipts and RFC&nbsp;3161 time-stamps in the bundle it came with. Check them "
        "with a TSA root certificate you obtained yourself:</p>"
        "<pre>sh verify.sh -k SERVICE_KEY.pem BUNDLE.asice TSA_ROOT.pem\n"
        "promptstamp verify BUNDLE.asice --tsa-root TSA_ROOT.pem --trust-key SERVICE_KEY.pem</pre>"
        "<p>README.txt in the bundle explains each file and the same checks with openssl alone.</p></div>")


def _keys_box(session: ReportSession) -> str:
    rows = "".join(f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(fp)}</code></td></tr>"
                   for k, fp in sorted(session.keys.items()))
    dev = ""
    if session.dev_tsas:
        dev = ("<p class=\"warn\">Time-stamps by " + _e(", ".join(sorted(session.dev_tsas))) +
               " come from a built-in development TSA and prove nothing to anyone else.</p>")
    return (f"<section><h2>Service keys</h2><table class=\"facts\"><tr><th>key id</th><th>SHA-256 of the key"
            f"</th></tr>{rows}</table><p class=\"note\">Compare with the keys the service publishes.</p>"
            f"{dev}</section>")


def _superseded_by(steps: Sequence[ReportStep]) -> dict[str, Record]:
    """Each superseded record's id -> the later record naming it in refs.supersedes (DESIGN.md, second
    release: a fuller sighting is a new record; the earlier one stays as it was signed)."""
    later: dict[str, Record] = {}
    for step in steps:
        refs = step.record.value.get("refs")
        target = refs.get("supersedes") if isinstance(refs, dict) else None
        if isinstance(target, str):
            later.setdefault(target, step.record)
    return later


def _marks(session: ReportSession, r: Record, later: Mapping[str, Record]) -> list[str]:
    """A capture gap is evidence of what is missing; a superseded record was followed by a fuller one."""
    out = []
    if r.type == "drift":
        params = r.value.get("params")
        code = params.get("code") if isinstance(params, dict) else None
        out.append("<p class=\"gap\">Evidenced gap: the extension recorded here that it could not capture a step "
                   f"({_e(code if isinstance(code, str) else 'unspecified')}). What it says is missing is missing from "
                   "this record; the chain around it is intact.</p>")
    successor = later.get(r.id)
    if successor is not None:
        out.append(f"<p class=\"superseded\">Superseded by step <a href=\"{_e(_step_href(session, successor.id))}\">"
                   f"#{successor.seq}</a>, a fuller sighting of the same message; this record stays as signed.</p>")
    refs = r.value.get("refs")
    if isinstance(refs, dict) and isinstance(refs.get("supersedes"), str):
        out.append(f"<p class=\"supersedes\">Supersedes record <code>{_e(refs['supersedes'])}</code>, an earlier, "
                   "partial sighting of the same message.</p>")
    return out


def _step(session: ReportSession, step: ReportStep, last_prompt: str | None,
          last_params: Mapping[str, Any] | None, budget: list[int],
          later: Mapping[str, Record] | None = None) -> tuple[str, str | None, Mapping[str, Any] | None]:
    r = step.record
    value = r.value
    superseded = later is not None and r.id in later
    cls = (f"step kind-{r.type}" + (" pending" if step.status != "stamped" else "")
           + (" superseded" if superseded else ""))
    out = [f"<li class=\"{_e(cls)}\" id=\"r-{_e(r.id)}\">",
           f"<div class=\"head\"><span class=\"seq\">#{r.seq}</span> <span class=\"kind\">"
           f"{_e(_KIND_LABEL.get(r.type, r.type))}</span> <span class=\"actor\">by {_e(r.actor)}</span></div>",
           *_marks(session, r, later or {}),
           "<dl class=\"times\">",
           f"<dt>captured (device)</dt><dd>{_e(r.captured_at)}</dd>"]
    if step.received_at:
        out.append(f"<dt>received (server)</dt><dd>{_e(step.received_at)}</dd>")
    if step.tsa_times:
        for tsa, t in sorted(step.tsa_times.items()):
            label = " (development TSA)" if tsa in session.dev_tsas else ""
            out.append(f"<dt>time-stamped ({_e(tsa)}{label})</dt><dd>{_e(t)}</dd>")
    else:
        out.append("<dt>time-stamped</dt><dd class=\"warn\">not yet: the batch is pending</dd>")
    out.append("</dl>")
    text = value.get("text")
    if isinstance(text, str) and text:
        if r.type in ("prompt", "edit") and last_prompt is not None and last_prompt != text:
            out.append(f"<div class=\"diff\"><div class=\"label\">Change from the previous prompt</div>"
                       f"<p>{_word_diff(last_prompt, text)}</p></div>")
        out.append(f"<pre class=\"text\">{_e(text)}</pre>")
        if r.type in ("prompt", "edit"):
            last_prompt = text
    params = value.get("params")
    if isinstance(params, dict) and params:
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_short(v))}</td></tr>" for k, v in sorted(params.items()))
        out.append(f"<table class=\"params\">{rows}</table>")
        if last_params is not None:
            changes = _params_changes(last_params, params)
            if changes:
                out.append("<p class=\"changed\">Changed: " + "; ".join(changes) + "</p>")
        last_params = params
    refs = value.get("refs")
    if isinstance(refs, dict) and refs:
        out.append("<p class=\"refs\">" + ", ".join(f"{_e(k)} <code>{_e(v)}</code>" for k, v in sorted(refs.items()))
                   + "</p>")
    for att in r.attachments:
        out.append(_attachment(session, att.digest[7:], att.media_type, att.bytes, att.role, budget))
    rid = f"<code>{_e(r.id)}</code>"
    if session.step_url is not None:
        rid = f"<a href=\"{_e(session.step_url(r.id))}\">{rid}</a>"
    out.append(f"<p class=\"digest\">record {rid}, digest <code>{_e(r.digest)}</code>"
               + (f", batch <code>{_e(step.batch_id)}</code>" if step.batch_id else "") + "</p></li>")
    return "\n".join(out), last_prompt, last_params


def _attachment(session: ReportSession, hexd: str, media: str, size: int, role: str, budget: list[int]) -> str:
    caption = f"{_e(role)}, {_e(media)}, {size} bytes, sha256 {_e(hexd[:16])}…"
    path = f"blobs/{hexd}"
    if session.image_url is not None and media in RASTER_TYPES:
        # Served by the service, which checks the magic bytes again before it answers as an image.
        url = _e(session.image_url(hexd))
        return (f"<figure><a href=\"{url}\" target=\"_blank\" rel=\"noopener\"><img class=\"thumb\" "
                f"src=\"{url}\" loading=\"lazy\" alt=\"{_e(role)} image\"></a><figcaption>{caption}</figcaption>"
                "</figure>")
    if media.startswith("image/") and size <= MAX_IMAGE_EMBED and size <= budget[0]:
        data = session.image(hexd)
        uri = image_data_uri(data) if data is not None else None
        if uri is not None and data is not None:
            budget[0] -= len(data)
            return (f"<figure><img src=\"{_e(uri)}\" alt=\"{_e(role)} image\"><figcaption>{caption}</figcaption>"
                    "</figure>")
    where = f"file <code>{_e(path)}</code> in the bundle" if session.in_bundle else "stored with the session"
    return f"<p class=\"file\">Attachment not shown here ({caption}): {where}.</p>"


def render_bundle_report(evidence: SessionEvidence) -> str:
    """The report for a bundle, from the evidence being exported."""
    times: dict[str, dict[str, str]] = {}
    dev: set[str] = set()
    for bid, batch in evidence.batches.items():
        times[bid] = {}
        for tsa, token in batch.tokens.items():
            try:
                times[bid][tsa] = iso_utc(tokens.token_info(token).gen_time)
            except PromptStampError:
                times[bid][tsa] = "(unreadable token)"
            if batch.untrusted.get(tsa):
                dev.add(tsa)
    steps: list[ReportStep] = []
    for rec_ev in evidence.records:
        rec = Record.from_canonical(rec_ev.record_bytes)
        receipt = Receipt.from_json(canonical.parse_json(rec_ev.receipt_bytes))
        steps.append(ReportStep(rec, receipt.received_at, receipt.batch.id,
                                times.get(receipt.batch.id, {}) if rec_ev.status == "stamped" else {},
                                rec_ev.status))

    steps.sort(key=lambda s: (s.record.captured_at, s.record.seq))  # the order the steps happened

    def image(hexd: str) -> bytes | None:
        with evidence.open_blob(hexd) as f:
            data = f.read(MAX_IMAGE_EMBED + 1)
        return data if len(data) <= MAX_IMAGE_EMBED else None

    keys = {kid: signing.fingerprint(signing.public_key_from_pem(pem)) for kid, pem in evidence.keys.items()}
    return render_report(ReportSession(
        site=evidence.site, session_id=evidence.session_id, title=evidence.title, account=evidence.account,
        generated_at=evidence.exported_at, steps=steps, image=image, keys=keys, dev_tsas=frozenset(dev)))


