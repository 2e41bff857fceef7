"""Signing in to the dashboard with an API token, the session cookie, and CSRF tokens.

The cookie is Flask's signed session. Its secret is derived from the service signing key, so every
instance of a deployment (which shares that key) accepts the same cookies with no new setting, and
nothing secret is written in the code. The cookie holds the account id, never the API token.
CSRF: a random token per browser session, in the cookie and in every form; a POST without the
matching one is refused (SameSite=Lax is a second line, not the only one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Request, abort, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

from ...accounts import token_hash
from ...errors import PromptStampError, Unauthorized
from ...sealer import SNIPPET_CHARS
from ..context import services
from . import errorpages

SECRET_LABEL = b"promptstamp dashboard session cookie v1\x00"
SESSION_HOURS = 12

bp = Blueprint("auth", __name__, url_prefix="/app")

P = ParamSpec("P")
R = TypeVar("R")


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over https (behind a proxy: as the WSGI layer sees it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # API calls carry no cookie: an empty session then, without building the signing serializer
        # (Flask builds it before looking for the cookie; it was a twentieth of a single post's time).
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def session_secret(seed: bytes) -> bytes:
    return hashlib.sha256(SECRET_LABEL + seed).digest()


def configure(app: Flask, seed: bytes) -> None:
    app.secret_key = session_secret(seed)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="promptstamp_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(_page_context)


def _page_context() -> dict[str, object]:
    acct = current_account()
    name = None
    if acct is not None:
        try:
            name = services().accounts.get(acct).name
        except PromptStampError:
            name = None
    return {"signed_in": acct is not None, "account_name": name, "session_hours": SESSION_HOURS,
            "snippet_chars": SNIPPET_CHARS}


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """before_request for every blueprint with forms: a state-changing request must carry the token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get("csrf")
    given = request.form.get("csrf", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        abort(400, "This form has expired or did not come from this site. Reload the page and try again.")


def require_same_site() -> None:
    """For GETs that start costly work (a bundle build asks every TSA): refuse cross-site requests.

    The sign-in cookie is SameSite=Lax, so a link on another site still carries it on a top-level
    navigation. Browsers say where a request came from in Sec-Fetch-Site (same-origin, or none for a
    typed URL or bookmark); without it, a Referer from another origin is refused too.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        if fetch_site in ("same-origin", "none"):
            return
    else:
        referer = request.headers.get("Referer")
        if not referer or referer.startswith(request.host_url):
            return
    abort(403, "This download was started from another site. Open the session in the dashboard and "
               "press Download there.")


def no_store(response: BaseResponse) -> BaseResponse:
    # Account data: never kept by a shared cache or left in the browser's back/forward store. Blobs
    # (content-addressed, private) say otherwise themselves.
    if "private" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
    return response


bp.before_request(check_csrf)
bp.after_request(no_store)
errorpages.install(bp)


def current_account() -> str | None:
    account, since = session.get("account"), session.get("since")
    signin_id, token_id = session.get("signin"), session.get("token")
    if not isinstance(account, str) or not isinstance(since, int):
        return None
    if not isinstance(signin_id, str) or not isinstance(token_id, str):
        return None  # a cookie from before sign-ins could be ended on the server
    # Absolute lifetime from sign-in: the cookie's own expiry slides with every request.
    if time.time() - since > SESSION_HOURS * 3600:
        return None
    # Server-side state: a copied cookie stops working once its sign-in ended ("Sign out") or the
    # token it was made with was revoked, on every instance within REVOCATION_TTL_S.
    revocations = services().accounts.revocations
    if revocations.signed_out(signin_id) or revocations.token_revoked(token_id):
        return None
    return account


def signed_in(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if current_account() is None:
            return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def account() -> str:
    """The signed-in account for views under ``signed_in``."""
    found = current_account()
    if found is None:
        raise Unauthorized("not signed in")
    return found


def _local(target: str | None) -> str:
    """Only paths on this site: an open redirect after sign-in would be a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.sessions")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("pages.sessions")
    return target


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> str | BaseResponse | tuple[str, int]:
    next_url = request.values.get("next")
    if request.method == "GET":
        if current_account() is not None:
            return redirect(_local(next_url))
        return render_template("signin.html", next=next_url or "", error=None)
    token = request.form.get("token", "").strip()
    try:
        account_id = services().accounts.authenticate(token)
    except Unauthorized:
        return render_template("signin.html", next=next_url or "",
                               error="That API token is not valid for this service."), 401
    session.clear()  # a fresh session (and a fresh CSRF token) on every sign-in
    session.permanent = True
    session["account"] = account_id
    session["since"] = int(time.time())
    session["signin"] = secrets.token_hex(16)
    session["token"] = token_hash(token)
    csrf_token()
    return redirect(_local(next_url))


@bp.post("/signout")
def signout() -> BaseResponse:
    signin_id = session.get("signin")
    if isinstance(signin_id, str):
        try:
            services().accounts.revocations.sign_out(signin_id)
        except PromptStampError:
            pass  # a malformed id was never a valid sign-in; the cookie is cleared below all the same
    session.clear()
    return redirect(url_for("auth.signin"))
