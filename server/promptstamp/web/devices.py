from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..canonical import parse_json
from ..errors import InvalidInput
from .context import authenticated_account, services

bp = Blueprint("devices", __name__, url_prefix="/v1/devices")


@bp.post("/challenge")
def pairing_challenge() -> Response:
    """Step 1 of pairing: a challenge that names the caller's account, signed by the service."""
    return jsonify(services().authorship.challenge(authenticated_account()))


@bp.post("")
def register_device() -> Response:
    """Step 2: the device registers the public half of its own (non-extractable) Ed25519 key with its
    signature over the challenge (proof of possession); the pairing is written as a stamped record."""
    account = authenticated_account()
    body = parse_json(request.get_data(cache=False))
    if not isinstance(body, dict):
        raise InvalidInput('expected {"public_key", "name", "challenge", "challenge_sig", "service_key", '
                           '"service_sig"}')
    services().authorship.ensure_account_record(account)
    device, created = services().authorship.pair(account, body)
    response = jsonify(device.to_json())
    response.status_code = 201 if created else 200
    return response


@bp.get("")
def list_devices() -> Response:
    account = authenticated_account()
    return jsonify({"devices": [d.to_json() for d in services().accounts.devices(account)]})
