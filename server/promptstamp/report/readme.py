"""README.txt: what the bundle holds and how to verify it, derived from the bundle's files only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import signing
from ..bundle_names import asset_text
from .session import ReportStep, TsaInfo

if TYPE_CHECKING:
    from .derive import EvidenceFiles


def plain(text: str) -> str:
    """Captured text in README.txt: one line, no control characters (a session id is user data)."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", "?", text)[:512]


def render_readme(files: EvidenceFiles, steps: Sequence[ReportStep], tsas: Sequence[TsaInfo],
                  languages: Sequence[str]) -> str:
    keys = "\n".join(
        f"  {kid}  SHA-256 {signing.fingerprint(signing.public_key_from_pem(pem))}"
        for kid, pem in sorted(files.keys.items())
    ) or "  (none)"
    first = steps[0].record if steps else None
    pending = sum(1 for s in steps if s.status != "stamped")
    reports = ", ".join({"en": "report.html (English)", "zh": "report.zh.html (中文)"}[lang] for lang in languages)
    return (asset_text("README.txt")
            .replace("@SITE@", plain(first.site if first else ""))
            .replace("@SESSION@", plain(first.session_id if first else ""))
            .replace("@RECORDS@", str(len(steps)))
            .replace("@PENDING@", str(pending))
            .replace("@BATCHES@", str(sum(1 for b in files.batch_tokens.values() if b)))
            .replace("@TSAS@", ", ".join(t.name for t in tsas) or "(none)")
            .replace("@DEV_TSAS@", ", ".join(t.name for t in tsas if t.standing == "development") or "(none)")
            .replace("@REPORTS@", reports or "(none)")
            .replace("@KEYS@", keys))
