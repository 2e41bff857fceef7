"""Reports of a session's evidence: report.html and report.zh.html in a bundle, the dashboard's session
pages, and the signed PDF exhibit. No I/O, no Flask.

Modules: ``session`` (what a report is made from), ``facts`` (counting the human's and the AI's
steps), ``diff`` (near-linear word diffs), ``i18n`` (one catalogue per language), ``timefmt``,
``tsa_status``, ``timeline``, ``sections``, ``layout`` (the HTML), ``readme`` and ``derive`` (the
bundle's derived files, re-created by the verifier).
"""

from .derive import LANG_CHOICES, REPORT_FILES, EvidenceFiles, derived_files, from_evidence, languages_in
from .i18n import LANGS
from .layout import render_report
from .sections import selection_html, summary, summary_html
from .session import Author, PromptState, ReportSession, ReportStep, TsaInfo
from .timeline import MAX_IMAGE_EMBED, RASTER_TYPES, image_data_uri, raster_type, timeline_items

__all__ = ["LANGS", "LANG_CHOICES", "MAX_IMAGE_EMBED", "RASTER_TYPES", "REPORT_FILES", "Author", "EvidenceFiles",
           "PromptState", "ReportSession", "ReportStep", "TsaInfo", "derived_files", "from_evidence",
           "image_data_uri", "languages_in", "raster_type", "render_report", "selection_html", "summary",
           "summary_html", "timeline_items"]
