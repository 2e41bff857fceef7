"""RFC 8785 known-answer vectors shared with the extension (extension/test/jcs.test.ts).

Both halves must derive the same bytes from the same JSON, or device signatures and the session
chain (`prev`) would not verify on the server.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from promptstamp.canonical import canonicalize, digest_of, parse_json
from promptstamp.errors import CanonicalizationError

VECTORS_FILE = Path(__file__).resolve().parents[1] / "assets" / "jcs-vectors.json"
DOC: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", DOC["vectors"], ids=[v["name"] for v in DOC["vectors"]])
def test_canonical_bytes_match_the_shared_vector(vector: dict[str, str]) -> None:
    canonical = canonicalize(parse_json(vector["input"]))
    assert canonical.decode("utf-8") == vector["canonical"]
    assert hashlib.sha256(canonical).hexdigest() == vector["sha256"]
    assert digest_of(parse_json(vector["input"])) == "sha256:" + vector["sha256"]


@pytest.mark.parametrize("vector", DOC["invalid"], ids=[v["name"] for v in DOC["invalid"]])
def test_invalid_vector_is_rejected(vector: dict[str, str]) -> None:
    with pytest.raises(CanonicalizationError, match="lone surrogate"):
        parse_json(vector["input"])


def test_vectors_cover_the_rfc_appendix_b_samples() -> None:
    names = [v["name"] for v in DOC["vectors"]]
    assert sum(name.startswith("rfc8785 appendix B") for name in names) == 24
