"""Evidence bundles over HTTP: download a session's bundle, and the verify endpoint for account holders.

``GET /v1/sessions/<site>/<id>/bundle[?lang=en|zh|both]`` (account-scoped) streams an ASiC-E bundle
written to a temporary file. ``POST /v1/verify`` (needs an API token, multipart) runs the same engine
as ``promptstamp verify``: ``file`` (bundle, .tsr or .tst), optional ``data`` (file) or ``digest``
(hex) for a bare token, ``tsa_root`` (PEM files, repeatable), ``trust_key`` (PEM files or key ids,
repeatable), ``certs`` (extra untrusted certificates). It answers 200 with the report whatever the
verdict; the verdict is in the body (``exit_code``, ``valid``, ``trusted``), like the CLI's exit
code. Anyone else verifies in their own browser (``/verify``), which uploads nothing.

The upload is spooled to a temporary file and verified in a bounded child process
(``verify_process``) under ``verify_limits.UploadLimits``: past a limit the answer is 413 or 422
naming it, and 429 when every verification slot is busy.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file
from werkzeug.datastructures import FileStorage

from .. import tokens
from ..bundle import EvidenceSource, bundle_filename, write_bundle
from ..errors import InvalidInput, TooLarge
from ..model import utc_now
from ..pdfsign import PdfExhibitSigner
from ..report import LANG_CHOICES
from ..verify import trust_from_pems
from ..verify_limits import DEFAULT_UPLOAD_LIMITS
from ..verify_process import VerifyJob
from .context import authenticated_account, services

bp = Blueprint("evidence", __name__)
log = logging.getLogger(__name__)

MAX_VERIFY_BYTES = DEFAULT_UPLOAD_LIMITS.upload_bytes
MAX_SMALL_PART = 1 << 20  # roots, keys, certificates


@bp.get("/v1/sessions/<site>/<path:session_id>/bundle")
def session_bundle(site: str, session_id: str) -> Response:
    return bundle_response(authenticated_account(), site, session_id)


def _languages() -> tuple[str, ...]:
    lang = request.args.get("lang", "both")
    if lang not in LANG_CHOICES:
        raise InvalidInput(f"lang: expected one of {', '.join(LANG_CHOICES)}, found {lang[:16]!r}")
    return LANG_CHOICES[lang]


def bundle_response(account: str, site: str, session_id: str) -> Response:
    """A session's evidence bundle as a download (the API and the dashboard both serve it);
    ``?lang=en|zh|both`` chooses the report languages (default both)."""
    languages = _languages()
    ledger: EvidenceSource = services().ledger
    services().ledger.session_record_ids(account, site, session_id)  # NotFound before anything is written
    services().authorship.ensure_account_record(account)  # the evidence names its owner (docs/format.md §7)
    evidence = ledger.session_evidence(account, site, session_id)
    out = tempfile.TemporaryFile()  # streamed to the client, deleted when the response closes
    # Without a CJK font (a machine without Debian's fonts-noto-cjk) the bundle is still whole: the
    # PDF is a convenience copy of the reports, so it is left out rather than failing the evidence.
    from ..report.pdf import font_available  # fpdf2 loads only where PDFs are made

    exhibit = PdfExhibitSigner(services().keyring.signing_key, ledger.stamp_digest) if font_available() else None
    if exhibit is None:
        log.warning("bundle without report.pdf: no CJK font installed (Debian: fonts-noto-cjk)")
    try:
        write_bundle(evidence, out, stamp=ledger.stamp_digest, languages=languages, exhibit=exhibit)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return send_file(out, mimetype="application/vnd.etsi.asic-e+zip", as_attachment=True,
                     download_name=bundle_filename(site, session_id, evidence.exported_at or utc_now()))


def exhibit_response(account: str, site: str, session_id: str) -> Response:
    """The session's report as the signed PDF exhibit alone (the dashboard's download)."""
    from ..report import from_evidence
    from ..report.pdf import exhibit_pdf

    languages = _languages()
    ledger: EvidenceSource = services().ledger
    evidence = ledger.session_evidence(account, site, session_id)
    signer = PdfExhibitSigner(services().keyring.signing_key, ledger.stamp_digest)
    pdf = signer.sign(exhibit_pdf(from_evidence(evidence), languages))
    name = bundle_filename(site, session_id, evidence.exported_at or utc_now()).replace(".asice", ".pdf")
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.before_request
def _verify_limit() -> None:
    if request.endpoint == "evidence.verify_upload":
        request.max_content_length = MAX_VERIFY_BYTES


def _small(field: str) -> list[bytes]:
    parts = []
    for f in request.files.getlist(field):
        data = f.read(MAX_SMALL_PART + 1)
        if len(data) > MAX_SMALL_PART:
            raise TooLarge(f"{field}: expected at most {MAX_SMALL_PART} bytes")
        parts.append(data)
    return parts


@bp.post("/v1/verify")
def verify_upload() -> Response:
    authenticated_account()  # verification costs CPU: only account holders may spend ours
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("multipart field 'file' (a bundle, .tsr or .tst) is required")
    keys: list[str | bytes] = [*_small("trust_key"), *request.form.getlist("trust_key")]
    trust, intermediates = trust_from_pems(_small("tsa_root"), keys)
    extra = intermediates + tuple(d for pem in _small("certs") for d in tokens.load_pem_certificates(pem))
    data_part = request.files.get("data")
    stamped = data_part.read(MAX_SMALL_PART + 1) if data_part else None
    if stamped is not None and len(stamped) > MAX_SMALL_PART:
        raise TooLarge(f"data: a stamped file of at most {MAX_SMALL_PART} bytes; give its digest instead")
    report = run_verification(upload, VerifyJob("", trust, stamped, request.form.get("digest") or None, extra))
    return jsonify(report)


def run_verification(upload: FileStorage, job: VerifyJob) -> dict[str, Any]:
    """Spool the upload to a file the child reads, verify it there, delete it: bounded memory here."""
    with tempfile.NamedTemporaryFile(prefix="promptstamp-verify-") as spool:
        shutil.copyfileobj(upload.stream, spool, 1 << 20)
        spool.flush()
        return services().verifier.run(replace(job, path=spool.name))
