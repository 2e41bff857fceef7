"""Check 11: report.pdf, when present, is the service's signed exhibit.

The PDF's layout is not re-rendered (its fonts are the exporting machine's); what holds it is its
signature: PAdES with a signature time-stamp and a document time-stamp over the whole file, by a
certificate issued by a service key of this bundle (trusted or not, as the keys check said). An
edited or fabricated PDF fails here; its wording is the same as report.html, which is re-derived.
"""

from __future__ import annotations

from .. import bundle_names as names
from ..pdfsign import check_exhibit
from .context import Ctx


def check_exhibit_file(ctx: Ctx) -> None:
    data = ctx.files.data.get(names.REPORT_PDF)
    if data is None:
        return
    ctx.check("exhibit", names.REPORT_PDF, "signed by a service key, time-stamped",
              lambda: check_exhibit(data, ctx.keys, ctx.trust.tsa_roots))
