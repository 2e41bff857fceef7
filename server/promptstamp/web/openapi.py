"""The OpenAPI 3 description of API v1. A test checks it against the app's real routes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .openapi_schemas import SCHEMAS

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_AUTH_ERRORS = {"401": _err("missing or unknown API token")}
_OBJ = {"type": "object"}
_RESULT = {"$ref": "#/components/schemas/IngestResult"}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "PromptStamp API",
        "version": "1",
        "description": "Signed, RFC 3161 time-stamped records of the steps of AI-assisted creative sessions. "
                       "Every call except /healthz, /v1/keys and /v1/openapi.json needs a bearer token, and "
                       "sees only its own account's data.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
    },
    "security": [{"bearer": []}],
    "paths": {
        "/healthz": {"get": {"summary": "Liveness and configuration summary", "security": [],
                             "responses": {"200": _json("service is up", _OBJ)}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format), summed over all worker processes",
                             "security": [], "responses": {"200": {"description": "Prometheus text exposition",
                                                                   "content": {"text/plain": {}}}}}},
        "/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                     "responses": {"200": _json("OpenAPI 3 document", _OBJ)}}},
        "/v1/keys": {"get": {"summary": "Service public keys (current and rotated) and configured TSAs",
                             "security": [], "responses": {"200": _json("keys", _OBJ)}}},
        "/v1/records": {"post": {
            "summary": "Submit one record or envelope, or an array of up to 1000",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Envelope"}, {"$ref": "#/components/schemas/Record"},
                {"type": "array", "maxItems": 1000, "items": {"oneOf": [
                    {"$ref": "#/components/schemas/Envelope"}, {"$ref": "#/components/schemas/Record"}]}}]}}}},
            "responses": {
                "201": _json("every record is time-stamped; a single result with its tokens, or for an array "
                             "{results: [...], batches: {id: {status, tokens}}} (tokens once per batch)",
                             {"oneOf": [_RESULT, {"type": "object", "properties": {
                                 "results": {"type": "array", "items": _RESULT},
                                 "batches": {"type": "object", "additionalProperties": {
                                     "type": "object", "properties": {
                                         "status": {"type": "string"},
                                         "tokens": {"type": "array",
                                                    "items": {"$ref": "#/components/schemas/Token"}}}}}}}]}),
                "202": _json("stored and signed, time-stamp pending (every TSA failed); retried in background",
                             _OBJ),
                "400": _err("invalid record, JSON, device signature, or a blob that was never uploaded"),
                **_AUTH_ERRORS,
                "409": _err("a record with this id exists with different content"),
                "413": _err("body too large"),
                "503": _err("storage unavailable; nothing was acknowledged"),
            }}},
        "/v1/records/{record_id}": {"get": {
            "summary": "A record with its receipt, status and tokens",
            "parameters": [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("record", _OBJ), **_AUTH_ERRORS, "404": _err("no such record")}}},
        "/v1/records/{record_id}/receipt": {"get": {
            "summary": "The receipt exactly as signed (RFC 8785 bytes)",
            "parameters": [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("receipt", {"$ref": "#/components/schemas/Receipt"}), **_AUTH_ERRORS,
                          "404": _err("no such record or no receipt yet")}}},
        "/v1/blobs/{digest}": {
            "parameters": [{"name": "digest", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}],
            "put": {"summary": "Upload bytes addressed by their SHA-256",
                    "requestBody": {"required": True, "content": {"*/*": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
                    "responses": {"201": _json("stored", _OBJ), "200": _json("already stored", _OBJ),
                                  "400": _err("bytes do not match the digest"), **_AUTH_ERRORS,
                                  "413": _err("body too large")}},
            "get": {"summary": "Download a blob of this account",
                    "responses": {"200": {"description": "the bytes",
                                          "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                                  **_AUTH_ERRORS, "404": _err("no such blob")}}},
        "/v1/sessions": {"get": {"summary": "Sessions of this account, newest first",
                                 "responses": {"200": _json("sessions", _OBJ), **_AUTH_ERRORS}}},
        "/v1/sessions/{site}/{session_id}": {"get": {
            "summary": "Records of a session in order, with receipts and status",
            "parameters": [{"name": "site", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("session", _OBJ), **_AUTH_ERRORS, "404": _err("no such session")}}},
        "/v1/sessions/{site}/{session_id}/bundle": {"get": {
            "summary": "The session's evidence bundle (ASiC-E container with report.html, report.zh.html, "
                       "README.txt and verify.sh)",
            "parameters": [{"name": "site", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "lang", "in": "query", "required": False,
                            "description": "report language(s): en (report.html), zh (report.zh.html) or both",
                            "schema": {"type": "string", "enum": ["en", "zh", "both"], "default": "both"}}],
            "responses": {"200": {"description": "the bundle", "content": {"application/vnd.etsi.asic-e+zip": {
                "schema": {"type": "string", "format": "binary"}}}},
                **_AUTH_ERRORS, "404": _err("no such session"), "503": _err("no TSA answered")}}},
        "/v1/verify": {"post": {
            "summary": "Verify anyone's evidence: a bundle, or a bare .tsr/.tst with its data or digest "
                       "(in a bounded process; README 'Verifying over HTTP' states the limits)",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "bundle (.asice), .tsr or .tst"},
                    "data": {"type": "string", "format": "binary", "description": "the time-stamped file"},
                    "digest": {"type": "string", "description": "hex digest that was time-stamped"},
                    "tsa_root": {"type": "array", "items": {"type": "string", "format": "binary"},
                                 "description": "TSA root certificates the verifier trusts (PEM)"},
                    "trust_key": {"type": "array", "items": {"type": "string"},
                                  "description": "service keys the verifier trusts (PEM or key id)"},
                    "certs": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": "extra (untrusted) certificates, e.g. a TSA chain"}}}}}},
            "responses": {"200": _json("the report: every check in order with its outcome and reason", _OBJ),
                          "400": _err("not a bundle or token, or missing data/digest"),
                          **_AUTH_ERRORS,
                          "413": _err("upload, entry count or expanded size over its limit (named)"),
                          "422": _err("batches, tokens, CPU time or memory over its limit (named)"),
                          "429": _err("every verification slot is busy; retry after a few seconds")}}},
        "/v1/batches/{batch_id}": {"get": {
            "summary": "A batch this account has records in: root, size, tokens (base64 DER) with TSA and genTime, "
                       "and archive_timestamps: the renewals that carry its proof past its TSA certificates "
                       "(renewal id, TSA, time, certificate_expires; docs/format.md §11)",
            "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("batch", _OBJ), **_AUTH_ERRORS, "404": _err("no such batch")}}},
        "/v1/devices/challenge": {
            "post": {"summary": "Pairing step 1: a challenge naming this account, signed by the service "
                                "(docs/format.md, \"Pairing record\")",
                     "responses": {"200": _json("challenge, service_key, service_sig", _OBJ), **_AUTH_ERRORS}}},
        "/v1/devices": {
            "post": {"summary": "Pairing step 2: register the device's Ed25519 public key with its signature over "
                                "the challenge (proof of possession); written as a stamped pairing record",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object",
                         "required": ["public_key", "name", "challenge", "challenge_sig", "service_key", "service_sig"],
                         "properties": {
                             "public_key": {"type": "string", "format": "byte",
                                            "description": "base64 of the raw 32-byte Ed25519 public key"},
                             "name": {"type": "string", "description": "the device's name, 1..200 characters"},
                             "challenge": {"type": "string", "description": "exactly as POST /v1/devices/challenge "
                                           "returned it"},
                             "challenge_sig": {"type": "string", "format": "byte",
                                               "description": "base64 Ed25519 signature of the challenge's UTF-8 "
                                                              "bytes by the key being paired"},
                             "service_key": {"type": "string", "description": "as the challenge response gave it"},
                             "service_sig": {"type": "string", "description": "as the challenge response gave it"}}}}}},
                     "responses": {"201": _json("registered", _OBJ), "200": _json("already registered", _OBJ),
                                   "400": _err("bad_challenge or bad_device_signature: possession not proven"),
                                   **_AUTH_ERRORS}},
            "get": {"summary": "Devices of this account", "responses": {"200": _json("devices", _OBJ),
                                                                        **_AUTH_ERRORS}}},
        "/verify.sh": {
            "get": {"summary": "The project's verify.sh (public; its SHA-256 is on /v1/keys and in the README): run "
                               "this one, never the copy inside a bundle",
                    "responses": {"200": {"description": "POSIX sh script",
                                          "content": {"text/x-shellscript": {"schema": {"type": "string"}}}}}}},
        "/v1/account": {
            "get": {
                "summary": "The account the bearer token belongs to, as its evidence states it (what a paired device "
                           "shows as its owner)",
                "responses": {"200": _json("the account", {
                    "type": "object", "required": ["id", "name", "created_at", "display_name"],
                    "properties": {"id": {"type": "string", "description": "24 hex characters"},
                                   "name": {"type": "string", "description": "the display name the evidence states "
                                            "(the latest account record; the name given at creation before one)"},
                                   "created_at": {"type": "string", "format": "date-time"},
                                   "display_name": {"type": "string", "description": "the same as name"},
                                   "contact": {"type": ["string", "null"], "description": "optional contact"},
                                   "record": {"type": ["string", "null"],
                                              "description": "id of the latest account record, null before one"}}}),
                              **_AUTH_ERRORS}},
            "put": {"summary": "State the owner's display name and optional contact: a new account record, signed "
                               "and time-stamped, carried by every bundle of the account",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["display_name"],
                        "properties": {"display_name": {"type": "string", "description": "1..200 characters, one "
                                                        "line"},
                                       "contact": {"type": "string", "description": "optional, up to 320 "
                                                   "characters, one line"}}}}}},
                    "responses": {"201": _json("stated and time-stamped", _OBJ),
                                  "202": _json("stated; the time-stamp is pending", _OBJ),
                                  "400": _err("not one line of 1..200 characters"), **_AUTH_ERRORS}}},
    },
}


@bp.get("/v1/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)
