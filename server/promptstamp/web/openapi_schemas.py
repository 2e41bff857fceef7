"""The schemas of /v1/openapi.json, every field described with an example (docs/format.md is the contract;
DESIGN.md, "Formats"). A test walks them and fails on a field without a description."""

from __future__ import annotations

from typing import Any

from ..model import RECORD_TYPES
from ..model import ULID as _ULID

ULID = f"^{_ULID}$"
DIGEST = "^sha256:[0-9a-f]{64}$"
KEY_ID = "^[0-9a-f]{16}$"
EXAMPLE_ID = "01JDX6Z8Q0M7V4N2B5C8E1F3G6"
EXAMPLE_DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXAMPLE_ROOT = "sha256:3b7a0fb6c9e24f1c4d3a5e6b8f0a1c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f1a3b"


def _s(description: str, example: Any = None, **schema: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "description": description, **schema}
    if example is not None:
        out["example"] = example
    return out


def _i(description: str, example: int, **schema: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, "example": example, **schema}


def _ref(name: str, description: str) -> dict[str, Any]:
    # OpenAPI 3.0 ignores siblings of $ref; allOf keeps the description visible to readers and tools.
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "description": description}


ATTACHMENT: dict[str, Any] = {
    "type": "object", "required": ["digest", "media_type", "bytes", "role"],
    "description": "A file the step carries (an image the AI produced, a file the human uploaded), stored as a "
                   "blob addressed by its digest: PUT /v1/blobs/{digest} before the record.",
    "properties": {
        "digest": _s("SHA-256 of the exact bytes as the site delivered them", EXAMPLE_DIGEST, pattern=DIGEST),
        "media_type": _s("the media type the site declared (reports show only PNG, JPEG, GIF and WebP as "
                         "images, checked by their bytes)", "image/png"),
        "bytes": _i("length of the blob in bytes", 48213, minimum=0),
        "role": _s("what the file is to the step: output (made by the AI), input (uploaded by the human), or a "
                   "site-specific role", "output"),
        "source_url": _s("where the extension fetched it (informative; the digest is the evidence)",
                         "https://files.example/image/abc.png"),
    },
    "example": {"digest": EXAMPLE_DIGEST, "media_type": "image/png", "bytes": 48213, "role": "output"},
}

SESSION: dict[str, Any] = {
    "type": "object", "required": ["site", "id"],
    "description": "The AI site's conversation this step belongs to; (site, id) names the session.",
    "properties": {
        "site": _s("the site's short name", "chatgpt", pattern="^[a-z0-9][a-z0-9._-]{0,63}$"),
        "id": _s("the site's own conversation id (promptstamp: the service's own records)", "6751c0de-0a1b"),
        "url": _s("the page address when the step was captured (may change from step to step)",
                  "https://chatgpt.com/c/6751c0de-0a1b"),
        "title": _s("the conversation title the site showed (may change)", "Fox in the snow"),
    },
    "example": {"site": "chatgpt", "id": "6751c0de-0a1b", "title": "Fox in the snow"},
}

CLIENT: dict[str, Any] = {
    "type": "object", "required": ["app"],
    "description": "What captured the step.",
    "properties": {
        "app": _s("the capturing program and its version", "promptstamp-extension/0.2.0"),
        "adapter": _s("the site adapter and its version (site@version)", "chatgpt@2"),
        "device": _s("the key id of the device that captured (and signed) the step; absent for imports",
                     "5e1f0c2a9b3d4e6f", pattern=KEY_ID),
    },
    "example": {"app": "promptstamp-extension/0.2.0", "adapter": "chatgpt@2", "device": "5e1f0c2a9b3d4e6f"},
}

RECORD_EXAMPLE = {
    "v": 1, "id": EXAMPLE_ID, "type": "prompt", "session": SESSION["example"], "seq": 3, "prev": EXAMPLE_DIGEST,
    "captured_at": "2026-11-28T12:00:00.123Z", "actor": "user", "text": "a red fox in the snow, oil painting",
    "params": {"model": "gpt-4o"}, "client": CLIENT["example"]}

RECORD: dict[str, Any] = {
    "type": "object",
    "required": ["v", "id", "type", "session", "seq", "prev", "captured_at", "actor", "client"],
    "description": "One step of a creative session, as the extension captured it. Its digest is SHA-256 of its "
                   "RFC 8785 (JCS) serialization. Fields are omitted when they do not apply (never null, except "
                   "prev); fields may be added by later versions, never reinterpreted.",
    "properties": {
        "v": _i("format version", 1, enum=[1]),
        "id": _s("ULID chosen by the client; the idempotency key (a resend returns the same receipt)", EXAMPLE_ID,
                 pattern=ULID),
        "type": _s("what happened: prompt, output (by the AI), edit (of a prompt), regenerate (a retry the human "
                   "asked for), parameters (settings the human chose), selection (the output the human chose), "
                   "note (the human's own words), import, identity (the AI site's account: params.site_user_id, "
                   "name, email, source), drift (a capture that failed: an evidenced gap; params.code, "
                   "params.adapter)", "prompt", enum=list(RECORD_TYPES)),
        "session": _ref("Session", "the conversation on the AI site"),
        "seq": _i("position in this device's chain for the session, from 1", 3, minimum=1),
        "prev": _s("digest of the previous record of the chain (null for seq 1): a missing, repeated or "
                   "reordered step shows", EXAMPLE_DIGEST, nullable=True, pattern=DIGEST),
        "captured_at": _s("when the device captured the step, RFC 3339 UTC with milliseconds: the device's claim, "
                          "bounded above by the TSA time", "2026-11-28T12:00:00.123Z"),
        "actor": _s("who acted: user (the human) or ai", "user", enum=["user", "ai"]),
        "text": _s("the prompt, the AI's answer or the note, exactly as captured (up to 1,000,000 characters)",
                   "a red fox in the snow, oil painting"),
        "params": {"type": "object", "description": "settings: on a user parameters record what the human set; "
                                                    "on an AI record what the site reported (the AI's metadata)",
                   "example": {"model": "gpt-4o", "seed": 7}},
        "refs": {"type": "object", "additionalProperties": {"type": "string"},
                 "description": "the site's ids (message_id, parent_message_id, job_id...); supersedes: the id "
                                "of an earlier, partial record of the same message that this one supersedes",
                 "example": {"message_id": "m-17", "parent_message_id": "m-16"}},
        "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"},
                        "description": "files the step carries", "example": [ATTACHMENT["example"]]},
        "client": _ref("Client", "what captured the step"),
    },
    "example": RECORD_EXAMPLE,
}

DEVICE_SIG: dict[str, Any] = {
    "type": "object", "required": ["key", "sig"],
    "description": "The capturing device's Ed25519 signature over the record's RFC 8785 bytes.",
    "properties": {
        "key": _s("key id of the paired device key (first 16 hex of SHA-256 of the raw public key)",
                  "5e1f0c2a9b3d4e6f", pattern=KEY_ID),
        "sig": _s("base64 Ed25519 signature over JCS(record)", "3q2+7w==...", format="byte"),
    },
    "example": {"key": "5e1f0c2a9b3d4e6f", "sig": "ZmFrZS1zaWduYXR1cmU="},
}

BATCH_REF: dict[str, Any] = {
    "type": "object", "required": ["id", "root", "size", "index", "proof"],
    "description": "Where the record sits in its batch: an RFC 9162 Merkle tree whose root the TSAs stamped.",
    "properties": {
        "id": _s("the batch id (ULID)", "01JDX6Z9A1B2C3D4E5F6G7H8J9", pattern=ULID),
        "root": _s("the Merkle root: the RFC 3161 message imprint", EXAMPLE_ROOT, pattern=DIGEST),
        "size": _i("number of records in the batch", 12, minimum=1),
        "index": _i("the record's leaf index in the batch", 4, minimum=0),
        "proof": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                  "description": "RFC 9162 §2.1.3 inclusion proof, lowercase hex nodes from the leaf up",
                  "example": ["a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778"]},
    },
    "example": {"id": "01JDX6Z9A1B2C3D4E5F6G7H8J9", "root": EXAMPLE_ROOT, "size": 1, "index": 0, "proof": []},
}

RECEIPT: dict[str, Any] = {
    "type": "object",
    "required": ["v", "record", "record_id", "account", "received_at", "batch", "device_key", "key", "sig"],
    "description": "The service's signed statement that it received the record under this account, and where "
                   "it sits in a time-stamped batch. Immutable once written; RFC 8785 bytes.",
    "properties": {
        "v": _i("format version", 1, enum=[1]),
        "record": _s("the record's digest", EXAMPLE_DIGEST, pattern=DIGEST),
        "record_id": _s("the record's id", EXAMPLE_ID, pattern=ULID),
        "account": _s("the account the record arrived under (one account per bundle)", "ef05a1b2c3d4e5f6a7b8c9d0"),
        "received_at": _s("when the service received it (the service's clock), RFC 3339 UTC",
                          "2026-11-28T12:00:00.480Z"),
        "batch": _ref("BatchRef", "the record's place in its batch"),
        "device_key": _s("key id of the device signature the service verified, or null when the record came "
                         "without one (only the service vouches for it then)", "5e1f0c2a9b3d4e6f",
                         nullable=True),
        "device_sig": _s("the verified device signature itself (base64), kept as evidence", "ZmFrZS1zaWc=",
                         format="byte"),
        "key": _s("key id of the service key that signed this receipt", "56475aa75463474c", pattern=KEY_ID),
        "sig": _s("base64 Ed25519 signature over JCS(receipt without sig)", "c2lnbmF0dXJl", format="byte"),
    },
    "example": {"v": 1, "record": EXAMPLE_DIGEST, "record_id": EXAMPLE_ID, "account": "ef05a1b2c3d4e5f6a7b8c9d0",
                "received_at": "2026-11-28T12:00:00.480Z", "batch": BATCH_REF["example"],
                "device_key": "5e1f0c2a9b3d4e6f", "key": "56475aa75463474c", "sig": "c2lnbmF0dXJl"},
}

TOKEN: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 3161 time-stamp token over a batch root, from one TSA.",
    "properties": {
        "tsa": _s("the TSA's configured name", "digicert"),
        "token": _s("the TimeStampToken, base64 DER (openssl ts -reply -token_in reads it)", "MIIXYQYJKoZIhvcN...",
                    format="byte"),
        "gen_time": _s("the TSA's time (genTime): the records existed no later than this",
                       "2026-11-28T12:00:01.000000Z"),
        "untrusted": {"type": "boolean", "description": "true for the built-in development TSA, whose tokens "
                                                       "prove nothing to anyone else", "example": False},
        "chain": _s("the TSA's certificates, PEM (to build the chain; never a trust root)", nullable=True),
    },
    "example": {"tsa": "digicert", "token": "MIIXYQYJKoZIhvcN...", "gen_time": "2026-11-28T12:00:01.000000Z",
                "untrusted": False},
}

INGEST_RESULT: dict[str, Any] = {
    "type": "object",
    "description": "What the service did with one submitted record.",
    "properties": {
        "record_id": _s("the record's id", EXAMPLE_ID),
        "status": _s("stamped: a TSA token covers the record's batch; pending: stored and signed, the time-stamp "
                     "is retried in the background", "stamped", enum=["stamped", "pending"]),
        "receipt": _ref("Receipt", "the signed receipt"),
        "batch": _s("the batch id", "01JDX6Z9A1B2C3D4E5F6G7H8J9"),
        "tokens": {"type": "array", "items": {"$ref": "#/components/schemas/Token"},
                   "description": "the batch's tokens (single-record answers only)", "example": []},
    },
    "example": {"record_id": EXAMPLE_ID, "status": "stamped", "receipt": RECEIPT["example"],
                "batch": "01JDX6Z9A1B2C3D4E5F6G7H8J9", "tokens": []},
}

ERROR: dict[str, Any] = {
    "type": "object", "required": ["error", "detail"],
    "description": "Why a request was refused; nothing of a refused record is kept.",
    "properties": {
        "error": _s("a stable machine-readable code", "invalid_record"),
        "detail": _s("what was expected and what was found", "record.seq: expected an integer >= 1, found 0"),
        "index": _i("for an array, the position of the offending item", 3, minimum=0),
    },
    "example": {"error": "invalid_record", "detail": "record.seq: expected an integer >= 1, found 0"},
}

SCHEMAS: dict[str, Any] = {
    "Error": ERROR, "Record": RECORD, "Session": SESSION, "Client": CLIENT, "Attachment": ATTACHMENT,
    "Envelope": {
        "type": "object", "required": ["record"],
        "description": "A record with its device signature, as the extension sends it.",
        "properties": {"record": _ref("Record", "the record, exactly as signed"),
                       "device_sig": _ref("DeviceSig", "the device's signature over JCS(record)")},
        "example": {"record": RECORD_EXAMPLE, "device_sig": DEVICE_SIG["example"]},
    },
    "DeviceSig": DEVICE_SIG, "BatchRef": BATCH_REF, "Receipt": RECEIPT, "Token": TOKEN,
    "IngestResult": INGEST_RESULT,
}
