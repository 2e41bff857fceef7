"""The account page: the display name and contact the evidence states, set by the signed-in owner.

Each change is a new account record (signed, time-stamped, carried by every bundle of the account);
earlier ones stay, so the evidence shows when the name was stated.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ...errors import InvalidInput
from ..context import services
from .auth import account, check_csrf, no_store, signed_in

bp = Blueprint("owner", __name__, url_prefix="/app")
bp.before_request(check_csrf)
bp.after_request(no_store)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account_page() -> str | BaseResponse | tuple[str, int]:
    acct = account()
    authorship = services().authorship
    if request.method == "POST":
        try:
            authorship.state_account(acct, request.form.get("display_name"), request.form.get("contact"))
        except InvalidInput as e:
            return render_template("account.html", view=authorship.account_view(acct), error=e.detail), 400
        return redirect(url_for("owner.account_page"))
    return render_template("account.html", view=authorship.account_view(acct), error=None)
