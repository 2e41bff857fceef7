"""report.html and report.zh.html: self-contained, escape every captured string, deterministic, state
facts only; the first page, the human's contribution apart from the AI's, and the verifier's re-render."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from bundle_sample import OpensslTsa, bundle_entries, png, rebuild_bundle, sample_session, ulid
from promptstamp import bundle, canonical, tokens
from promptstamp.evidence import SessionEvidence
from promptstamp.report import Author, derived_files, from_evidence, image_data_uri, render_report, tsa_status
from promptstamp.report.derive import report_session
from promptstamp.report.i18n import EN, ZH
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle

EVIL = '"><img src=x onerror=alert(1)><script>alert("pwned")</script><a href="javascript:x">'
DEVICE = "0123456789abcdef"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="report-tsa")


def _base(i: int, when: datetime, rtype: str, actor: str, **extra: object) -> dict[str, object]:
    return {"v": 1, "id": ulid(int(when.timestamp() * 1000), i.to_bytes(10, "big")), "type": rtype, "actor": actor,
            "session": {"site": "chatgpt", "id": "s-1", "title": "Fox"}, "captured_at": when.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"), "client": {"app": "promptstamp-extension/0.2.0", "device": DEVICE},
            **extra}


IMAGE = png(4, 4, (1, 2, 3))
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _story() -> list[dict[str, object]]:
    """A session with every kind of step: identity, prompts, an edit, human and AI parameters, a retry,
    the same image delivered twice (a superseding fuller sighting), a selection, a note, a drift gap."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    img = {"digest": canonical.sha256_digest(IMAGE), "media_type": "image/png", "bytes": len(IMAGE),
           "role": "<b>out</b>"}
    svg = {"digest": canonical.sha256_digest(SVG), "media_type": "image/svg+xml", "bytes": len(SVG), "role": "output"}
    steps: list[dict[str, object]] = []

    def add(rtype: str, actor: str, **extra: object) -> dict[str, object]:
        step = _base(len(steps), t0 + timedelta(seconds=7 * len(steps)), rtype, actor, **extra)
        steps.append(step)
        return step

    add("identity", "user", params={"site_user_id": "user-42", "name": "Ada L.", "email": "ada@example.org",
                                    "source": "GET /backend-api/me"})
    add("prompt", "user", text="a red fox " + EVIL, params={"model": "gpt-4o", EVIL: EVIL},
        session={"site": "chatgpt", "id": "s-1", "title": EVIL})
    add("parameters", "user", params={"model": "gpt-4o"})
    partial = add("output", "ai", text="drawing", refs={"message_id": "m1", "parent_message_id": "p1"},
                  params={"model": "gpt-4o-2026", "finish": "stop"}, attachments=[img])
    add("output", "ai", text="Here is the fox. " + EVIL, params={"model": "gpt-4o-2026"},
        refs={"message_id": "m1", "parent_message_id": "p1", "supersedes": str(partial["id"])},
        attachments=[img, svg])
    add("regenerate", "user", refs={"message_id": "m1"})
    add("output", "ai", text="Another fox.", refs={"message_id": "m2", "parent_message_id": "p1"})
    add("edit", "user", text="a quick red fox in the snow " + EVIL)
    add("parameters", "user", params={"model": "o3", "seed": 7})
    add("selection", "user", refs={"message_id": "m2"})
    add("note", "user", text="I chose the second fox. " + EVIL)
    add("drift", "user", text="Capture gap (no-answer): no answer recorded", params={"code": "no-answer"})
    return steps


@pytest.fixture(scope="module")
def evidence(tsa: OpensslTsa) -> SessionEvidence:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, records_override=_story(), batch_size=5,
                             pending_last_batch=True)
    session.blobs.update({canonical.sha256_digest(IMAGE)[7:]: IMAGE, canonical.sha256_digest(SVG)[7:]: SVG})
    return session.evidence


@pytest.fixture(scope="module")
def pages(evidence: SessionEvidence) -> dict[str, str]:
    return {name: data.decode("utf-8") for name, data in derived_files(from_evidence(evidence), ("en", "zh")).items()}


@pytest.mark.parametrize("name", ["report.html", "report.zh.html"])
def test_report_escapes_every_captured_string(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert page.count("<script") == 1  # the fixed local-time script, allowed by its hash
    assert "onerror=alert" not in page.replace(html.escape("onerror=alert"), "")
    assert 'href="javascript' not in page and "<img src=x" not in page
    assert html.escape(EVIL, quote=True) in page
    assert "&lt;b&gt;out&lt;/b&gt;" in page and "<b>" not in page


@pytest.mark.parametrize("name", ["report.html", "report.zh.html"])
def test_report_is_self_contained_and_its_only_script_is_pinned_by_hash(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|javascript:)""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1) and "unsafe-inline'; script" in csp.group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script and "innerHTML" not in script.group(1)
    pinned = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{pinned}'" in csp.group(1)
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert "data:image/svg" not in page and image_data_uri(b"<svg/>") is None


def test_rendering_is_deterministic_whatever_the_record_order(evidence: SessionEvidence,
                                                              pages: dict[str, str]) -> None:
    shuffled = SessionEvidence(**{**evidence.__dict__, "records": list(reversed(evidence.records)),
                                  "exported_at": "2030-01-01T00:00:00.000Z"})
    again = derived_files(from_evidence(shuffled), ("en", "zh"))
    assert {n: d.decode() for n, d in again.items()} == pages


def test_first_page_says_who_what_when_and_the_limits(pages: dict[str, str]) -> None:
    page = pages["report.html"]
    first = page[:page.index("<section")]
    assert "Ada Lovelace; account id acct-sample" in first  # the account record the bundle carries
    assert "chatgpt: Ada L. &lt;ada@example.org&gt; (id user-42)" in first and "GET /backend-api/me" in first
    assert "session s-1 on chatgpt" in first
    assert "no later than the time-stamp authority&#x27;s time" in first
    assert "device&#x27;s own claims" in first and "statement of the service&#x27;s operator" in first
    assert "report-tsa" in first and "Unknown: not in PromptStamp&#x27;s table" in first
    assert "2 NOT yet time-stamped" in first and "hash chain of the steps is unbroken" in first
    assert "12 signed by the creator&#x27;s device" in first
    assert "never a copy that came with the evidence" in first
    assert re.search(r"<time datetime=\"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\">[^<]+\.\d{3} UTC</time>", first)


def test_chinese_report_has_its_own_words_and_beijing_time(pages: dict[str, str]) -> None:
    page = pages["report.zh.html"]
    assert '<html lang="zh-CN">' in page and "本证据能证明什么，不能证明什么" in page
    assert "人的贡献与 AI 的产出" in page and "北京时间" in page
    assert "English version: report.html" in page
    assert set(EN) == set(ZH)


def _counts(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr><td>([^<]+)</td><td class="n">([^<]+)</td></tr>', page))


def test_the_human_and_the_ai_are_counted_apart_and_once(pages: dict[str, str]) -> None:
    counts = _counts(pages["report.html"])
    assert counts["prompts written"] == "1" and counts["prompt edits"] == "1"
    assert counts["parameter settings made"] == "2"  # the AI's reported model is not the human's setting
    assert counts["retries (regenerations requested)"] == "1"
    assert counts["selections among outputs"] == "1" and counts["notes"] == "1"
    assert counts["outputs produced"] == "2"  # the partial sighting is superseded, not counted
    assert counts["images produced"] == "2"  # the PNG delivered twice counts once; the SVG is the second
    assert counts["models the AI site reported"] == "gpt-4o-2026"
    assert counts["evidenced capture gaps"] == "1" and counts["superseded sightings"] == "1"


def test_parameters_show_only_what_the_human_set(pages: dict[str, str]) -> None:
    page = pages["report.html"]
    params = page[page.index("Parameters the human set"):page.index("Selections and notes")]
    assert "model set to gpt-4o" in params and "model: gpt-4o → o3; seed set to 7" in params
    assert "(unset)" not in page and "gpt-4o-2026" not in params


def test_prompt_edits_show_a_word_diff(pages: dict[str, str]) -> None:
    page = pages["report.html"]
    assert "a <ins>quick </ins>red fox <ins>in the snow </ins>" in page


def test_selection_names_the_outputs_chosen_among(pages: dict[str, str], evidence: SessionEvidence) -> None:
    page = pages["report.html"]
    assert "the creator selected the output of step #7, among 2 output(s) of the AI" in page
    assert re.search(r'<li class="chosen"><a href="#r-[0-9A-Z]{26}">#7</a> <q>Another fox.</q></li>', page)
    assert "superseded" in page and "Superseded by step <a href=\"#r-" in page
    assert "the extension could not capture something it should have" in page


def test_pending_steps_and_missing_device_signatures_are_marked(tsa: OpensslTsa) -> None:
    session = sample_session(tsa.stamp, n_records=4, batch_size=2, pending_last_batch=True)
    evidence = session.evidence
    files = from_evidence(evidence)
    unsigned = [(r, re.sub(rb'"device_key":"[0-9a-f]+","device_sig":"[^"]+"', b'"device_key":null', rc))
                for r, rc in files.records]
    page = render_report(report_session(files.__class__(unsigned, files.batch_tokens, files.keys, files.image), "en"))
    assert "2 NOT yet time-stamped" in page and "not yet: the batch is pending" in page
    assert "4 WITHOUT a device signature" in page
    assert page.count("No device signature: only the service vouches for this step.") == 4


def test_a_chain_break_is_shown_in_red(tsa: OpensslTsa) -> None:
    values = [dict(r.value) for r in sample_session(tsa.stamp, n_records=4, image_every=0).records]
    values[2]["prev"] = "sha256:" + "0" * 64
    session = sample_session(tsa.stamp, n_records=4, records_override=values, rechain=False)
    page = derived_files(from_evidence(session.evidence), ("en",))["report.html"].decode()
    assert '<li class="bad">the hash chain is BROKEN at 2 place(s)' in page
    assert "CHAIN BREAK: step #3 does not name the digest of step #2 as its predecessor" in page
    assert "CHAIN BREAK: step #4 does not name the digest of step #3" in page  # #3 changed, so its digest did


def test_a_development_tsa_is_named_in_red_on_the_first_page(evidence: SessionEvidence) -> None:
    files = from_evidence(evidence)
    session = report_session(files, "zh")
    dev = session.tsas[0].__class__("devtsa", "CN=" + tsa_status.DEV_TSA_LABEL, "development",
                                    {"en": "dev", "zh": "开发"})
    page = render_report(session.__class__(**{**session.__dict__, "tsas": [dev], "dev_tsas": frozenset({"devtsa"}),
                                              "author": Author("Ada Lovelace", "ada@example.org")}))
    banner = page.index('<p class="bad banner">devtsa')
    assert banner < page.index("<div class=\"verify\">") and "开发用时间戳机构" in page
    assert "Ada Lovelace" in page and "联系方式：ada@example.org" in page


def test_known_tsas_have_a_stated_standing() -> None:
    assert tsa_status.standing("CN=DigiCert Timestamp 2024,O=DigiCert, Inc.,C=US", None).key == "known"
    assert tsa_status.standing(None, "CN=" + tsa_status.DEV_TSA_LABEL).key == "development"
    assert tsa_status.standing("CN=Some TSA", None, "2.25.313571821748590964836994007601738163612").key == "development"
    assert tsa_status.standing("CN=Someone", None).key == "unknown"
    assert tsa_status.claims_etsi_policy("0.4.0.2023.1.1")


def test_real_tsa_tokens_give_their_standing() -> None:
    from pathlib import Path

    token = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"
    found = sorted(token.glob("**/*.tsr")) + sorted(token.glob("**/*.tst"))
    digicert = [p for p in found if "digicert" in str(p)]
    assert digicert, "tests/assets/real-tsa must hold the DigiCert response (see its README)"
    info = tokens.token_info(digicert[0].read_bytes())
    assert tsa_status.standing(info.signer_subject, info.tsa_name, info.policy).key == "known"


def test_bundle_carries_both_reports_and_the_verifier_re_creates_them(tsa: OpensslTsa) -> None:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=6)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp)
    entries = bundle_entries(out.getvalue())
    assert {"report.html", "report.zh.html", "README.txt"} <= set(entries)
    trust = Trust.build(tokens.load_pem_certificates(tsa.root_pem.encode()), [session.key.public.pem])
    report = check_bundle(out.getvalue(), trust)
    assert report.exit_code == 0
    derived = [c for c in report.checks if c.step == "derived"]
    # and whether the bundle's verify.sh is the published one
    assert sorted(c.subject for c in derived) == ["README.txt", "report.html", "report.zh.html", "verify.sh"]

    entries["report.zh.html"] = entries["report.zh.html"].replace("人的贡献".encode(), "全部由他人完成".encode())
    forged = check_bundle(rebuild_bundle(entries, tsa.stamp), trust)
    assert forged.exit_code == 1
    assert [c.subject for c in forged.failures] == ["report.zh.html"]
    assert "report.zh.html does not match the records: first difference at byte" in forged.failures[0].detail


def test_english_only_bundle(tsa: OpensslTsa) -> None:
    session = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=3)
    out = io.BytesIO()
    bundle.write_bundle(session.evidence, out, stamp=tsa.stamp, languages=("en",))
    entries = bundle_entries(out.getvalue())
    assert "report.html" in entries and "report.zh.html" not in entries
    assert b"report.zh.html" not in entries["report.html"]  # no link to a file that is not there
    trust = Trust.build(tokens.load_pem_certificates(tsa.root_pem.encode()), [session.key.public.pem])
    assert check_bundle(out.getvalue(), trust).exit_code == 0
