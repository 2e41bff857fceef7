from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..canonical import parse_json
from ..errors import InvalidInput
from .context import authenticated_account, services

bp = Blueprint("devices", __name__, url_prefix="/v1/devices")


@bp.post("")
def register_device() -> Response:
    """Pairing: a device registers the public half of its own (non-extractable) Ed25519 key."""
    account = authenticated_account()
    body = parse_json(request.get_data(cache=False))
    if not isinstance(body, dict):
        raise InvalidInput('expected {"public_key": "<base64>", "name": "<text>"}')
    device, created = services().accounts.register_device(account, body.get("public_key"), body.get("name"))
    response = jsonify(device.to_json())
    response.status_code = 201 if created else 200
    return response


@bp.get("")
def list_devices() -> Response:
    account = authenticated_account()
    return jsonify({"devices": [d.to_json() for d in services().accounts.devices(account)]})
