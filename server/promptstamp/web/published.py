"""What the project publishes for anyone verifying evidence: ``GET /verify.sh`` (public).

Instructions never say to run the copy inside a bundle: a forged bundle would bring its own script.
The SHA-256 is on ``/v1/keys`` and in the README, so the download can be checked too.
"""

from __future__ import annotations

from flask import Blueprint, Response

from ..bundle_names import published_verify_sh, published_verify_sh_sha256

bp = Blueprint("published", __name__)


@bp.get("/verify.sh")
def verify_sh() -> Response:
    response = Response(published_verify_sh(), mimetype="text/x-shellscript")
    response.headers["Content-Disposition"] = "attachment; filename=verify.sh"
    response.headers["X-Content-SHA256"] = published_verify_sh_sha256()
    return response
