"""Hostile bundles that cost a naive verifier memory or CPU: a ZIP bomb and a token bomb.

Shared by the limit tests and ``bench/verify_abuse.py``. Both look like bundles (``mimetype`` first,
known file names), so a verifier has to get past its name checks before the cost starts.
"""

from __future__ import annotations

import io
import zipfile

from bundle_sample import bundle_entries, ulid
from promptstamp import bundle, canonical


def zip_bomb(expanded: int = 1 << 30) -> bytes:
    """A bundle whose one blob inflates from about 1 MB to ``expanded`` bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), bundle.MIMETYPE.encode(), compress_type=zipfile.ZIP_STORED)
        chunk = bytes(1 << 20)
        with z.open("blobs/" + "0" * 64, "w", force_zip64=True) as w:
            for _ in range(expanded // len(chunk)):
                w.write(chunk)
    return out.getvalue()


def token_bomb(real_bundle: bytes, copies: int = 2000) -> bytes:
    """A real bundle plus ``copies`` batches that all repeat its first batch's root, token and chain."""
    entries = bundle_entries(real_bundle)
    source = next(n for n in entries if n.endswith("/batch.json"))
    folder = source[: -len("batch.json")]
    batch = canonical.parse_json(entries[source])
    assert isinstance(batch, dict)
    extra: dict[str, bytes] = {}
    for i in range(copies):
        bid = ulid(1_700_000_000_000 + i, i.to_bytes(10, "big"))
        extra[f"batches/{bid}/batch.json"] = canonical.canonicalize({**batch, "id": bid})
        for name, data in entries.items():
            if name.startswith(folder) and name != source:
                extra[f"batches/{bid}/{name[len(folder):]}"] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in {**entries, **extra}.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return out.getvalue()
