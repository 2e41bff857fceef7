"""The browser verifier's built files (verifier-web/, ``make verifier-web``): the served script lives in
``static/verify.js``; the standalone, offline ``verify.html`` in ``verifier_dist/``, served by its own route
because its inline script needs its own Content-Security-Policy (the hashes in its meta tag)."""

from __future__ import annotations

import re
from importlib import resources

_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')


def verifier_html() -> bytes | None:
    """The standalone verify.html, or None when it was not built."""
    path = resources.files("promptstamp").joinpath("web").joinpath("verifier_dist").joinpath("verify.html")
    return path.read_bytes() if path.is_file() else None


def standalone_csp(html: bytes) -> str:
    """The policy the file states for itself; the HTTP header repeats it, so both allow the same."""
    m = _META_CSP.search(html[:4096].decode("utf-8", "replace"))
    if m is None:
        return "default-src 'none'; sandbox"
    return m.group(1)
