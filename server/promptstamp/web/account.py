"""``/v1/account``: who the bearer token belongs to, as its evidence states it.

GET answers the id, the current display name (``name``, what a paired device shows as "as <name>"),
the contact and the account record it comes from; PUT states a new display name and contact: an
account record, signed and time-stamped, carried by every bundle of the account (docs/format.md §7).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..canonical import parse_json
from ..errors import InvalidInput
from .context import authenticated_account, services

bp = Blueprint("account", __name__)


def _view(account: str) -> dict[str, Any]:
    acct = services().accounts.get(account)
    view = services().authorship.account_view(account)
    return {**view, "id": acct.id, "name": view["display_name"], "created_at": acct.created_at}


@bp.get("/v1/account")
def account() -> Response:
    return jsonify(_view(authenticated_account()))


@bp.put("/v1/account")
def put_account() -> Response:
    """A new account record; earlier ones stay, so the evidence shows when each name was stated."""
    acct = authenticated_account()
    body = parse_json(request.get_data(cache=False))
    if not isinstance(body, dict) or set(body) - {"display_name", "contact"}:
        raise InvalidInput('expected {"display_name": "<1..200 characters>", "contact": "<optional>"}')
    result = services().authorship.state_account(acct, body.get("display_name"), body.get("contact"))
    response = jsonify({**_view(acct), "result": result.to_json()})
    response.status_code = 201 if result.outcome.status == "stamped" else 202
    return response
