"""Security headers on every response, applied once in an after_request hook.

The pages show untrusted content (AI output, page titles, prompts). Escaping is the first defence;
the Content-Security-Policy is the second: scripts and styles only from our own origin, never
inline, so markup that slipped through still runs nothing. Responses that set their own policy
(blobs: ``sandbox; default-src 'none'``) keep it.
"""

from __future__ import annotations

from flask import Flask, Response, request

# img-src data: is for nothing of ours; it lets a report fragment with embedded images still show.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Session ids and record ids sit in our URLs; no other site needs to learn them.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def apply_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    app.after_request(apply_headers)
