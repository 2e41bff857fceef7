"""The signed-in pages: sessions, a session's timeline, a record, and the files they link to."""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup

from ... import report
from ...errors import NotFound
from ...model import utc_now
from ..context import services
from ..evidence import bundle_response, exhibit_response
from . import errorpages
from .auth import account, check_csrf, no_store, require_same_site, signed_in
from .catalog import PAGE_SESSIONS, PAGE_STEPS, Catalog, SessionRow
from .details import record_details
from .stamping import stamping_state

bp = Blueprint("pages", __name__, url_prefix="/app")
bp.before_request(check_csrf)
bp.after_request(no_store)
errorpages.install(bp)

CATALOG = "promptstamp.dashboard"


def catalog() -> Catalog:
    found: Catalog = current_app.extensions[CATALOG]
    return found


def _page_arg(pages: int) -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), max(pages, 1))




@bp.get("/")
@signed_in
def sessions() -> str:
    rows = catalog().sessions(account())
    sites = sorted({r.site for r in rows})
    gaps = drift_by_site(rows)
    q = request.args.get("q", "").strip()
    site = request.args.get("site", "")
    if site:
        rows = [r for r in rows if r.site == site]
    if q:
        words = q.casefold().split()
        rows = [r for r in rows if all(w in r.text for w in words)]
    pages = math.ceil(len(rows) / PAGE_SESSIONS)
    page = _page_arg(pages)
    shown = rows[(page - 1) * PAGE_SESSIONS: page * PAGE_SESSIONS]
    return render_template("sessions.html", rows=shown, total=len(rows), sites=sites, q=q, site=site,
                           page=page, pages=pages, gaps=gaps)


def drift_by_site(rows: list[SessionRow]) -> list[tuple[str, int, int]]:
    """(site, drift records, sessions with any) for each site with capture gaps, most gaps first."""
    per: dict[str, list[int]] = {}
    for r in rows:
        if r.drift:
            counts = per.setdefault(r.site, [0, 0])
            counts[0] += r.drift
            counts[1] += 1
    return sorted(((site, n, s) for site, (n, s) in per.items()), key=lambda t: (-t[1], t[0]))


def _step_url(record_id: str) -> str:
    return url_for("pages.record", record_id=record_id)


@bp.get("/sessions/<site>/<path:session_id>")
@signed_in
def timeline(site: str, session_id: str) -> str:
    cat = catalog()
    acct = account()
    whole, entries = cat.session_pass(acct, site, session_id, _step_url)
    pages = math.ceil(len(whole.ids) / PAGE_STEPS)
    page = _page_arg(pages)
    ids = whole.ids[(page - 1) * PAGE_STEPS: page * PAGE_STEPS]
    by_id = {e["id"]: e for e in entries}
    steps = cat.steps([by_id[rid] for rid in ids])
    pending = sum(1 for e in entries if not cat.batch_times(e["batch"]).stamped)
    facts = {**whole.facts, "not yet time-stamped": pending}
    dev = frozenset(t for s in steps if s.batch_id for t in cat.batch_times(s.batch_id).untrusted)
    session = report.ReportSession(
        site=site, session_id=session_id, title=whole.title, account=acct, generated_at=utc_now(), steps=steps,
        image=lambda _h: None, dev_tsas=dev, in_bundle=False,
        image_url=lambda h: url_for("pages.blob", digest="sha256:" + h), step_url=_step_url)
    # report.py escapes every captured string itself (html.escape on each piece, tested with hostile
    # input); these are its finished fragments, the same ones report.html is made of.
    items = report.timeline_items(session, steps, whole.starts[page - 1])
    return render_template(
        "timeline.html", site=site, session_id=session_id, title=whole.title, steps=len(whole.ids),
        pending=pending, page=page, pages=pages, first_seq=(page - 1) * PAGE_STEPS + 1,
        last_shown=(page - 1) * PAGE_STEPS + len(ids),
        summary=Markup(report.summary_html(facts)), selection=Markup(whole.selection),
        items=Markup("\n".join(items)), dev_tsas=sorted(dev), stamping=stamping_state(services().settings),
        breaks=whole.breaks)


@bp.get("/bundle/<site>/<path:session_id>")
@signed_in
def bundle(site: str, session_id: str) -> Response:
    require_same_site()
    return bundle_response(account(), site, session_id)


@bp.get("/exhibit/<site>/<path:session_id>")
@signed_in
def exhibit(site: str, session_id: str) -> Response:
    """The report as the signed, time-stamped PDF exhibit (``?lang=en|zh|both``)."""
    require_same_site()
    return exhibit_response(account(), site, session_id)


@bp.get("/records/<record_id>")
@signed_in
def record(record_id: str) -> str:
    return render_template("record.html", **record_details(account(), record_id))


@bp.get("/blobs/<digest>")
@signed_in
def blob(digest: str) -> Response:
    """A captured file. Shown inline only when its bytes are a raster image (by magic, not by the
    declared type); anything else, SVG included, is a download that no page of ours renders."""
    data, _media = services().ledger.get_blob(account(), digest)
    raster = report.raster_type(data)
    response = Response(data, mimetype=raster or "application/octet-stream")
    name = digest.replace(":", "-")
    disposition = "inline" if raster and request.args.get("download") is None else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"  # content-addressed
    return response


@bp.get("/batches/<batch_id>/<tsa>.tst")
@signed_in
def token_file(batch_id: str, tsa: str) -> Response:
    for t in services().ledger.batch_tokens(account(), batch_id):  # 404 unless this account has records in it
        if t.tsa == tsa:
            response = Response(t.token, mimetype="application/timestamp-reply")
            response.headers["Content-Disposition"] = f'attachment; filename="{batch_id}-{tsa}.tst"'
            return response
    raise NotFound(f"batch {batch_id} has no token from {tsa}")
