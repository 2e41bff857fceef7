"""PromptStamp: signed, RFC 3161 time-stamped evidence of the human steps in AI-assisted work.

The public surface, for code that verifies or builds evidence without running the service::

    from promptstamp import Trust, verify_bundle
    report = verify_bundle(open("evidence.asice", "rb").read(), Trust.build(tsa_roots, [service_key_pem]))

Names are loaded on first use (PEP 562), so importing one module of the package (the service, the
CLI) does not load the verifier's X.509 stack, and the verifier does not load the service.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    # records, receipts and their exact bytes
    "Record": "model", "Receipt": "model", "BatchRef": "model",
    "canonicalize": "canonical", "parse_canonical": "canonical", "digest_of": "canonical",
    # signatures, Merkle trees, time-stamp tokens
    "SigningKeyPair": "signing", "PublicKey": "signing",
    "MerkleTree": "merkle", "verify_inclusion": "merkle",
    "token_info": "tokens", "TokenInfo": "tokens",
    # evidence bundles and their verification
    "write_bundle": "bundle", "verify_bundle": "verify", "check_bundle": "verify",
    "Trust": "verdict", "Report": "verdict",
    # the service
    "Settings": "config",
    # one error tree
    "PromptStampError": "errors", "InvalidInput": "errors", "NotFound": "errors", "Conflict": "errors",
    "StorageError": "errors", "TimestampError": "errors", "VerificationError": "errors",
}

# Spelled out (not derived from _PUBLIC) so that linters and type checkers see the names;
# tests/unit/test_house_rules.py holds the two lists equal.
__all__ = [
    "__version__",
    "Record", "Receipt", "BatchRef", "canonicalize", "parse_canonical", "digest_of",
    "SigningKeyPair", "PublicKey", "MerkleTree", "verify_inclusion", "token_info", "TokenInfo",
    "write_bundle", "verify_bundle", "check_bundle", "Trust", "Report", "Settings",
    "PromptStampError", "InvalidInput", "NotFound", "Conflict", "StorageError", "TimestampError",
    "VerificationError",
]

if TYPE_CHECKING:
    from .bundle import write_bundle
    from .canonical import canonicalize, digest_of, parse_canonical
    from .config import Settings
    from .errors import (
        Conflict,
        InvalidInput,
        NotFound,
        PromptStampError,
        StorageError,
        TimestampError,
        VerificationError,
    )
    from .merkle import MerkleTree, verify_inclusion
    from .model import BatchRef, Receipt, Record
    from .signing import PublicKey, SigningKeyPair
    from .tokens import TokenInfo, token_info
    from .verdict import Report, Trust
    from .verify import check_bundle, verify_bundle


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'promptstamp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
