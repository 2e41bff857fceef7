"""The bundle's file names and listing formats: one spelling for the writer, the reader and the verifier.

DESIGN.md, "Formats" and "Evidence bundle"; docs/format.md states the same contract. The writer
(``bundle``), the reader (``bundle_reader``) and the verifier import these; none imports another's
internals.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from importlib import resources
from xml.sax.saxutils import quoteattr

from .model import ULID
from .model import ULID_RE as ULID_RE

MIMETYPE = "application/vnd.etsi.asic-e+zip"
TOKEN_MIMETYPE = "application/vnd.etsi.timestamp-token"
MANIFEST = "META-INF/ASiCManifest001.xml"
MANIFEST_TOKEN = "META-INF/timestamp001.tst"
SUMS = "SHA256SUMS"
SUMS_TOKEN = "SHA256SUMS.tst"
README = "README.txt"
REPORT = "report.html"
REPORT_ZH = "report.zh.html"
REPORT_PDF = "report.pdf"
VERIFY_SH = "verify.sh"
EVIDENCE_RECORD = "evidence.ers"  # under batches/<id>/: RFC 4998 archive time-stamps (``ers``, ``renewal``)
ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TSA_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

# Every file name a bundle may hold (the verifier rejects anything else: nothing rides along unchecked).
NAME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("record", re.compile(rf"^records/({ULID})\.json$")),
    ("receipt", re.compile(rf"^receipts/({ULID})\.json$")),
    ("blob", re.compile(r"^blobs/([0-9a-f]{64})$")),
    ("batch", re.compile(rf"^batches/({ULID})/batch\.json$")),
    ("token", re.compile(rf"^batches/({ULID})/([a-z0-9][a-z0-9_-]{{0,31}})\.tst$")),
    ("chain", re.compile(rf"^batches/({ULID})/([a-z0-9][a-z0-9_-]{{0,31}})-chain\.pem$")),
    ("revocation", re.compile(rf"^batches/({ULID})/([a-z0-9][a-z0-9_-]{{0,31}})\.ocsp\.json$")),
    ("evidence_record", re.compile(rf"^batches/({ULID})/evidence\.ers$")),
    ("key", re.compile(r"^keys/([0-9a-f]{16})\.pem$")),
    ("device_key", re.compile(r"^keys/devices/([0-9a-f]{16})\.pem$")),
)
FIXED_NAMES = ("mimetype", README, REPORT, REPORT_ZH, REPORT_PDF, VERIFY_SH, SUMS, SUMS_TOKEN, MANIFEST, MANIFEST_TOKEN)
# The reports, one per language; a bundle holds at least one (``promptstamp export --lang``).
REPORTS = (REPORT, REPORT_ZH)
# Files a bundle may leave out: the signed PDF exhibit (made only where the service can sign).
OPTIONAL_NAMES = (REPORT_PDF,)
# The files derived from the records (report.derive): the verifier re-creates them and compares bytes.
DERIVED_NAMES = (README, REPORT, REPORT_ZH)


def in_sums(name: str) -> bool:
    """Whether ``SHA256SUMS`` lists this file: all but itself, its token, mimetype and META-INF/."""
    return name not in ("mimetype", SUMS, SUMS_TOKEN) and not name.startswith("META-INF/")


def in_manifest(name: str) -> bool:
    """Whether the ASiC manifest lists this file: all but mimetype and META-INF/."""
    return name != "mimetype" and not name.startswith("META-INF/")



def bundle_filename(site: str, session_id: str, exported_at: str) -> str:
    """A safe download name, e.g. ``evidence-chatgpt-abc123-20261128T120000Z.asice``."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "-", f"{site}-{session_id}")[:80].strip("-") or "session"
    stamp = re.sub(r"[^0-9TZ]", "", exported_at.split(".")[0]) + "Z"
    return f"evidence-{stem}-{stamp}.asice"


def asset_text(name: str) -> str:
    return resources.files("promptstamp").joinpath("bundle_assets").joinpath(name).read_text("utf-8")


def manifest_xml(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """The ASiC-E manifest, one element per line so that ``grep``/``sed`` can read it too."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<asic:ASiCManifest xmlns:asic="{ASIC_NS}" xmlns:ds="{DS_NS}">',
        f'<asic:SigReference MimeType="{TOKEN_MIMETYPE}" URI="{MANIFEST_TOKEN}"/>',
    ]
    for name, digest in entries:
        lines += [
            f"<asic:DataObjectReference URI={quoteattr(name)}>",
            f'<ds:DigestMethod Algorithm="{SHA256_URI}"/>',
            f"<ds:DigestValue>{base64.b64encode(digest).decode('ascii')}</ds:DigestValue>",
            "</asic:DataObjectReference>",
        ]
    lines.append("</asic:ASiCManifest>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def sums_text(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """``sha256sum`` output format (binary mode marker), one line per file."""
    return "".join(f"{d.hex()} *{n}\n" for n, d in entries).encode("ascii")


def published_verify_sh() -> bytes:
    """The project's verify.sh: what the service serves at GET /verify.sh and every bundle copies."""
    return asset_text(VERIFY_SH).encode("utf-8")


def published_verify_sh_sha256() -> str:
    return hashlib.sha256(published_verify_sh()).hexdigest()
