"""The service's trust anchors, public: service keys to pin, and each TSA with the roots to pin.

A development TSA (configured as such, or recognised by its certificates, which name the dev TSA
policy or label) is listed as untrusted and its root is never offered: anyone can make such a root.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import tokens
from ..bundle_names import published_verify_sh_sha256
from ..config import TsaConfig
from ..errors import PromptStampError
from .context import services

bp = Blueprint("keys", __name__, url_prefix="/v1/keys")


def development_tsa(tsa: TsaConfig) -> bool:
    """The built-in dev TSA, whether the service started it or it was configured like a real one."""
    if tsa.untrusted:
        return True
    if tsa.ca_file is None:
        return False
    try:
        certs = tokens.load_pem_certificates(tsa.ca_file.read_bytes())
    except (OSError, PromptStampError):
        return False  # reported where the roots are shown
    return any(tokens.is_development_certificate(der) for der in certs)


@bp.get("")
def list_keys() -> Response:
    """Public: every service key that ever signed receipts, so anyone can pin them."""
    svc = services()
    tsas = []
    for t in svc.settings.tsas:
        dev = development_tsa(t)
        tsas.append({"name": t.name, "url": t.url, "untrusted": dev,
                     "roots": None if dev or t.ca_file is None else t.ca_file.read_text()})
    # The script to verify bundles with: take it from here or the repository, never from a bundle.
    return jsonify({"keys": [e.to_json() for e in svc.keyring.entries()], "tsas": tsas,
                    "verify_sh": {"url": "/verify.sh", "sha256": published_verify_sh_sha256()}})
