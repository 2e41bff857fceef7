"""report.html: self-contained, escapes every captured string, states facts only."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from bundle_sample import OpensslTsa, bundle_entries, png, sample_session
from promptstamp import bundle, canonical
from promptstamp.report import image_data_uri, render_bundle_report

EVIL = '"><img src=x onerror=alert(1)><script>alert("pwned")</script><a href="javascript:x">'


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="report-tsa")


def _values(tsa: OpensslTsa) -> list[dict[str, object]]:
    base = sample_session(tsa.stamp, n_records=6, image_every=0).records
    values = [dict(r.value) for r in base]
    image = png(4, 4, (1, 2, 3))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    values[0] = {**values[0], "text": "a red fox " + EVIL, "session": {**values[0]["session"], "title": EVIL},  # type: ignore[dict-item]
                 "params": {"model": "m-1", EVIL: EVIL}}
    values[1] = {**values[1], "attachments": [
        {"digest": canonical.sha256_digest(image), "media_type": "image/png", "bytes": len(image),
         "role": "<b>out</b>"},
        {"digest": canonical.sha256_digest(svg), "media_type": "image/svg+xml", "bytes": len(svg), "role": "output"}]}
    values[2] = {**values[2], "type": "prompt", "actor": "user", "text": "a quick red fox in the snow",
                 "params": {"model": "m-2", EVIL: EVIL}}
    values[3] = {**values[3], "refs": {EVIL: EVIL}}
    return values


@pytest.fixture(scope="module")
def page(tsa: OpensslTsa) -> str:
    values = _values(tsa)
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, records_override=values, batch_size=4,
                             pending_last_batch=True)
    image = png(4, 4, (1, 2, 3))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    session.blobs.update({canonical.sha256_digest(image)[7:]: image, canonical.sha256_digest(svg)[7:]: svg})
    return render_bundle_report(session.evidence)


def test_report_escapes_every_captured_string(page: str) -> None:
    assert "<script" not in page
    assert "onerror=alert" not in page.replace(html.escape("onerror=alert"), "")
    assert 'href="javascript' not in page
    assert "<img src=x" not in page
    assert html.escape(EVIL, quote=True) in page
    assert "&lt;b&gt;out&lt;/b&gt;" in page and "<b>" not in page


def test_report_is_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|javascript:)""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)


def test_report_never_embeds_svg(page: str) -> None:
    assert "data:image/svg" not in page
    assert "Attachment not shown here (output, image/svg+xml" in page
    assert image_data_uri(b"<svg/>") is None


def test_report_shows_prompt_diff_and_parameter_changes(page: str) -> None:
    assert "Change from the previous prompt" in page
    assert "<ins>quick</ins>" in page
    assert "model: m-1 &rarr; m-2" in page


def test_report_states_facts_and_times(page: str) -> None:
    assert "Creative process summary" in page
    assert "<tr><th>prompts</th><td>2</td></tr>" in page
    assert "not yet time-stamped</th><td>2<" in page
    assert "captured (device)" in page and "received (server)" in page and "time-stamped (report-tsa)" in page
    assert "not yet: the batch is pending" in page
    for word in ("author of", "copyright", "infringe", "original work"):
        assert word not in page.lower()


def test_bundle_carries_the_report(tsa: OpensslTsa, tmp_path: Path) -> None:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=4)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    page = bundle_entries(out.getvalue())["report.html"].decode()
    assert page.count('<li class="step') == 4
    assert "How to verify" in page and "verify.sh" in page


def test_report_names_the_selected_output_and_the_notes(tsa: OpensslTsa) -> None:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=8)
    page = render_bundle_report(session.evidence)
    output = next(r for r in session.records if r.value.get("refs") == {"message_id": "m5"})
    assert f'the creator selected the output of step <a href="#r-{output.id}">#{output.seq}</a>' in page
    assert "note by the creator: <q>I chose the third image for its composition.</q>" in page
