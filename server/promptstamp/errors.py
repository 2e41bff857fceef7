"""One error tree for PromptStamp.

Every error carries a stable machine-readable ``code`` and a human ``detail`` that says what was
expected and what was found. HTTP status mapping lives in ``web/errors.py``; the CLI catches
``PromptStampError`` once and exits non-zero.
"""

from __future__ import annotations


class PromptStampError(Exception):
    """Base of every error this package raises on purpose."""

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None, index: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.index = index  # which item of an array request it concerns, if any
        if code is not None:
            self.code = code


class ConfigError(PromptStampError):
    code = "bad_config"


class InvalidInput(PromptStampError):
    """The caller sent something malformed; nothing was changed."""

    code = "invalid"


class CanonicalizationError(InvalidInput):
    """JSON that RFC 8785 cannot represent (duplicate keys, lone surrogates, big numbers...)."""

    code = "not_canonicalizable"


class TooLarge(InvalidInput):
    code = "too_large"


class LimitExceeded(InvalidInput):
    """Well-formed input whose verification would pass a stated limit (batches, tokens, CPU time)."""

    code = "limit_exceeded"


class Busy(PromptStampError):
    """Every slot for the work asked is taken; nothing was done, try again later."""

    code = "busy"


class Unauthorized(PromptStampError):
    code = "unauthorized"


class NotFound(PromptStampError):
    code = "not_found"


class Conflict(PromptStampError):
    code = "conflict"


class StorageError(PromptStampError):
    code = "storage_error"


class AlreadyExists(StorageError):
    """A write-once key already holds an object; nothing was overwritten."""

    code = "already_exists"


class ObjectMissing(StorageError, NotFound):
    code = "not_found"


class TimestampError(PromptStampError):
    """A TSA could not be reached or answered something we must not accept."""

    code = "timestamp_failed"


class VerificationError(PromptStampError):
    """Evidence does not hold: a signature, digest, proof or token check failed."""

    code = "invalid_evidence"


class TokenError(VerificationError):
    """An RFC 3161 response or token failed one of the checks in ``tokens.py``."""

    code = "invalid_token"


class UntrustedAnchor(VerificationError):
    """Evidence is internally consistent but rests on a root or key the verifier does not trust."""

    code = "untrusted_anchor"
