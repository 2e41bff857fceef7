"""The public pages: verify anyone's evidence in the browser, and the service's trust anchors."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from ... import tokens
from ...bundle_names import asset_text
from ...errors import NotFound, PromptStampError, TooLarge
from ...verify import trust_from_pems
from ...verify_process import VerifyJob
from ..context import services
from ..evidence import MAX_SMALL_PART, MAX_VERIFY_BYTES, run_verification
from ..keys import development_tsa
from . import errorpages
from .auth import check_csrf, current_account

bp = Blueprint("public", __name__)
errorpages.install(bp)

OUTCOME_WORDS = {"ok": "holds", "fail": "fails", "untrusted": "not trusted", "note": "note"}
STEP_TITLES = {
    "container": "Container", "manifest": "ASiC manifest", "sums": "SHA256SUMS and its time-stamp",
    "keys": "Service keys", "batches": "Batches and their time-stamps", "records": "Records",
    "chain": "Session chain", "coverage": "Coverage", "token": "Time-stamp token",
}


@bp.before_request
def _limits() -> None:
    # Set before anything reads the form (the CSRF check does): a bundle with its images is large.
    if request.endpoint == "public.verify":
        request.max_content_length = MAX_VERIFY_BYTES
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


def _present(field: str) -> list[FileStorage]:
    """Browsers send an empty part for an empty file input; that is no file."""
    return [f for f in request.files.getlist(field) if f.filename]


def _small(field: str) -> list[bytes]:
    parts = []
    for f in _present(field):
        data = f.read(MAX_SMALL_PART + 1)
        if len(data) > MAX_SMALL_PART:
            raise TooLarge(f"{f.filename}: at most {MAX_SMALL_PART} bytes expected for a certificate or key")
        parts.append(data)
    return parts


def _key_lines() -> list[str | bytes]:
    """Pasted anchors: a PEM block as a whole, or key ids / fingerprints one per line."""
    text = request.form.get("trust_key_text", "").strip()
    if not text:
        return []
    if "-----BEGIN" in text:
        return [text]
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class StepGroup:
    step: str
    title: str
    checks: list[dict[str, str]]
    counts: dict[str, int]


def _groups(checks: list[dict[str, str]]) -> list[StepGroup]:
    groups: list[StepGroup] = []
    for c in checks:
        if not groups or groups[-1].step != c["step"]:
            groups.append(StepGroup(c["step"], STEP_TITLES.get(c["step"], c["step"]), [], {}))
        groups[-1].checks.append(c)
        groups[-1].counts[c["outcome"]] = groups[-1].counts.get(c["outcome"], 0) + 1
    return groups


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> str | tuple[str, int]:
    if request.method == "GET":
        return render_template("verify.html", result=None, error=None)
    uploads = _present("file")
    if not uploads:
        return render_template("verify.html", result=None,
                               error="Choose the evidence to check: a bundle (.asice), or a .tsr/.tst token."), 400
    upload = uploads[0]
    if current_account() is None:
        return render_template("verify.html", result=None,
                               error="Verifying on the server needs an account: sign in first."), 401
    try:
        trust, intermediates = trust_from_pems(_small("tsa_root"), [*_small("trust_key"), *_key_lines()])
        extra = intermediates + tuple(d for pem in _small("certs") for d in tokens.load_pem_certificates(pem))
        data_parts = _present("data")
        stamped = data_parts[0].read(MAX_SMALL_PART + 1) if data_parts else None
        if stamped is not None and len(stamped) > MAX_SMALL_PART:
            raise TooLarge(f"the stamped file: at most {MAX_SMALL_PART} bytes; give its digest instead")
        body = run_verification(upload, VerifyJob("", trust, stamped,
                                                  request.form.get("digest", "").strip() or None, extra))
    except PromptStampError as e:
        return render_template("verify.html", result=None, error=e.detail), 400
    json_text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    result: dict[str, Any] = {
        **body, "groups": _groups(body["checks"]), "name": upload.filename or "upload",
        # A data: link downloads the exact JSON shown, with no second upload and no script needed.
        "json_href": "data:application/json;base64," + base64.b64encode(json_text.encode()).decode("ascii"),
        "json_name": (upload.filename or "evidence").rsplit(".", 1)[0] + ".verification.json",
    }
    return render_template("verify.html", result=result, error=None, words=OUTCOME_WORDS)


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
