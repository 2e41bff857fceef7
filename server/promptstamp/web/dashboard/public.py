"""The public pages: verify anyone's evidence in the browser, and the service's trust anchors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from ... import tokens
from ...bundle_names import asset_text
from ...errors import NotFound, PromptStampError
from ..context import services
from ..keys import development_tsa
from ..verifier_assets import standalone_csp, verifier_html
from . import errorpages
from .auth import check_csrf

bp = Blueprint("public", __name__)
errorpages.install(bp)

@bp.before_request
def _csrf() -> None:
    check_csrf()


@bp.get("/")
def index() -> BaseResponse:
    return redirect(url_for("pages.sessions"))


@bp.get("/assets/report.css")
def report_css() -> Response:
    """The bundle report's own stylesheet, so the dashboard timeline looks like report.html."""
    response = Response(asset_text("report.css"), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/verify")
def verify() -> str:
    """The browser verifier (static/verify.js, built from verifier-web/): the visitor's files never leave it."""
    return render_template("verify.html")


@bp.get("/verify.html")
def verify_standalone() -> Response:
    """The same verifier as one self-contained, offline file (its own CSP, script and style inline)."""
    standalone = verifier_html()
    if standalone is None:
        raise NotFound("the standalone verifier is not built here; run 'make verifier-web'")
    response = Response(standalone, mimetype="text/html")
    # Its meta CSP allows exactly its inline script and style by hash; the page-wide header would forbid them.
    response.headers["Content-Security-Policy"] = standalone_csp(standalone)
    response.headers["Content-Disposition"] = 'attachment; filename="verify.html"'
    return response


@dataclass(frozen=True)
class RootCert:
    subject: str
    sha256: str
    pem: str


def _roots(pem: bytes) -> list[RootCert]:
    out = []
    for der in tokens.load_pem_certificates(pem):
        out.append(RootCert(tokens.certificate_subject(der), hashlib.sha256(der).hexdigest(),
                            tokens.certificates_pem([der])))
    return out


@bp.get("/keys")
def keys() -> str:
    svc = services()
    tsas = []
    for t in svc.settings.tsas:
        roots: list[RootCert] = []
        problem = None
        dev = development_tsa(t)
        if t.ca_file is not None and not dev:
            try:
                roots = _roots(t.ca_file.read_bytes())
            except (OSError, PromptStampError) as e:
                problem = f"its configured root file cannot be read: {getattr(e, 'detail', e)}"
        tsas.append({"name": t.name, "url": t.url, "untrusted": dev, "roots": roots, "problem": problem})
    return render_template("keys.html", keys=svc.keyring.entries(), tsas=tsas,
                           current=svc.keyring.signing_key.id)


@bp.get("/keys/<key_id>.pem")
def key_pem(key_id: str) -> Response:
    for entry in services().keyring.entries():
        if entry.key.id == key_id:
            response = Response(entry.key.pem, mimetype="application/x-pem-file")
            response.headers["Content-Disposition"] = f'attachment; filename="promptstamp-key-{key_id}.pem"'
            return response
    raise NotFound(f"no service key {key_id!r:.40}")


@bp.get("/keys/tsa/<name>.pem")
def tsa_roots_pem(name: str) -> Response:
    for t in services().settings.tsas:
        if t.name == name and t.ca_file is not None and not development_tsa(t):
            response = Response(t.ca_file.read_bytes(), mimetype="application/x-pem-file")
            response.headers["Content-Disposition"] = f'attachment; filename="tsa-{name}-roots.pem"'
            return response
    raise NotFound(f"no configured root for TSA {name!r:.40}")
