"""Times in the report: one precision (milliseconds) throughout, UTC in the text, the reader's own zone
beside it where the page can know it.

A static file cannot know its reader's time zone without a script, so the HTML carries one small,
fixed script allowed by its hash in the page's CSP (``'sha256-…'``): it only adds the local time as
text after each ``<time>`` element (``textContent``, never markup). Without scripts (a PDF, a mail
viewer) the UTC time stands alone; the Chinese report also prints China Standard Time (UTC+8).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def parse(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def plain(value: str, lang: str) -> str:
    """The time as text: ``2026-11-28 12:00:00.123 UTC`` (plus Beijing time in Chinese)."""
    moment = parse(value)
    if moment is None:
        return value
    text = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"
    if lang == "zh":
        china = moment.astimezone(CHINA)
        text += f"（北京时间 {china.strftime('%Y-%m-%d %H:%M:%S.')}{china.microsecond // 1000:03d}）"
    return text


def element(value: str, lang: str) -> str:
    """A ``<time>`` element, escaped; the local-time script reads its ``datetime``."""
    moment = parse(value)
    if moment is None:
        return html.escape(value)
    if moment.year < 1000:  # strftime does not pad such years on every platform: keep its exact output
        return f'<time datetime="{iso_ms(moment)}">{html.escape(plain(value, lang))}</time>'
    # The same text as iso_ms and plain, built directly: a report has a few of these per step. Digits,
    # '-', ':', '.' and the fixed words need no escaping.
    utc = _digits(moment)
    text = utc + " UTC"
    if lang == "zh":
        text += f"（北京时间 {_digits(moment.astimezone(CHINA))}）"
    return f'<time datetime="{utc[:10]}T{utc[11:]}Z">{text}</time>'


def _digits(m: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` of a moment in years 1000 to 9999."""
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}."
            f"{m.microsecond // 1000:03d}")


def local_script(lang: str, label: str) -> str:
    """The fixed script that adds the reader's local time; its text depends only on the language."""
    locale = "zh-CN" if lang == "zh" else "en-GB"
    return (
        "for(const t of document.querySelectorAll('time[datetime]')){"
        "const d=new Date(t.getAttribute('datetime'));if(isNaN(d))continue;"
        "const s=document.createElement('span');s.className='local';"
        f"s.textContent=' ('+{json.dumps(label)}+' '+d.toLocaleString({json.dumps(locale)},"
        "{year:'numeric',month:'2-digit',day:'2-digit',hour:'2-digit',minute:'2-digit',second:'2-digit',"
        "fractionalSecondDigits:3,hour12:false,timeZoneName:'short'})+')';t.after(s);}"
    )


def csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def duration(seconds: float) -> tuple[str, dict[str, int]]:
    """An i18n key and its fields for a span of time."""
    s = int(seconds)
    if s < 120:
        return "seconds", {"n": s}
    if s < 7200:
        return "minutes", {"n": s // 60}
    return "hours", {"h": s // 3600, "m": (s % 3600) // 60}
