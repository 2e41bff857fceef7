"""``promptstamp export`` and ``promptstamp verify`` (registered in cli.py with ``main.add_command``).

``verify`` exits with the verifier's code: 0 valid and every anchor trusted, 1 invalid (or unusable
input), 2 valid but resting on a TSA root or service key that was not given.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from . import tokens
from .bundle import EvidenceSource, Exhibit, write_bundle
from .config import Settings
from .errors import InvalidInput, PromptStampError
from .pdfsign import PdfExhibitSigner
from .report import LANG_CHOICES
from .verdict import Trust
from .verify import trust_from_pems, verify_input


def _moment(text: str) -> datetime:
    """A date or an RFC 3339 time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(f"--at: expected a date (2041-06-01) or an RFC 3339 time, found {text[:40]!r}") from e
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def trust_from_files(root_files: tuple[Path, ...], keys: tuple[str, ...]) -> tuple[Trust, tuple[bytes, ...]]:
    key_values = [Path(k).read_text("ascii", "replace") if Path(k).is_file() else k for k in keys]
    return trust_from_pems([p.read_bytes() for p in root_files], key_values)


@click.command("verify", epilog="Examples: promptstamp verify evidence.asice --tsa-root digicert-root.pem "
                                 "--trust-key service-key.pem;  promptstamp verify token.tsr --data picture.png "
                                 "--tsa-root root.pem")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tsa-root", "tsa_roots", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM with TSA root certificate(s) you trust (repeatable). Non-self-signed certificates in it "
                   "are used as untrusted intermediates.")
@click.option("--trust-key", "trust_keys", multiple=True,
              help="Service key you trust: SPKI PEM file, 16-hex key id or 64-hex fingerprint (repeatable).")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="For a bare .tsr/.tst: the file that was time-stamped.")
@click.option("--digest", "digest_hex", help="For a bare .tsr/.tst: the hex digest that was time-stamped.")
@click.option("--certs", "cert_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Extra (untrusted) certificates, e.g. the signer of a token issued without certificates.")
@click.option("--at", "at_text", metavar="TIME",
              help="Judge certificate validity at this moment instead of now (2041-06-01 or RFC 3339), e.g. to see "
                   "that archive time-stamps carry the evidence past its TSA certificates' expiry.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="List every passing check, not only counts.")
def verify_command(file: Path, tsa_roots: tuple[Path, ...], trust_keys: tuple[str, ...], data_file: Path | None,
                   digest_hex: str | None, cert_files: tuple[Path, ...], at_text: str | None, as_json: bool,
                   verbose: bool) -> None:
    """Verify an evidence bundle (.asice) or a bare RFC 3161 token (.tsr/.tst) offline.

    Exit 0: valid and every anchor trusted; 1: something invalid; 2: valid but resting on a TSA root
    or service key you did not give.
    """
    try:
        trust, intermediates = trust_from_files(tsa_roots, trust_keys)
        if at_text is not None:
            trust = replace(trust, at=_moment(at_text))
        extra = intermediates + tuple(d for p in cert_files for d in tokens.load_pem_certificates(p.read_bytes()))
        report = verify_input(file.read_bytes(), trust,
                              stamped=data_file.read_bytes() if data_file else None,
                              digest_hex=digest_hex, extra_certs=extra, workers=os.cpu_count() or 1)
    except (PromptStampError, OSError) as e:
        click.echo(f"error: {getattr(e, 'detail', e)}", err=True)
        sys.exit(1)
    if not tsa_roots:
        click.echo("note: no --tsa-root given; no time-stamp can be trusted", err=True)
    click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True) if as_json else report.text(verbose=verbose),
               nl=as_json)
    sys.exit(report.exit_code)


@click.command("export", epilog="Example: promptstamp export --session chatgpt/6761f0b2-1a2b-4c3d-8e9f-0123456789ab "
                                 "--out evidence.asice")
@click.option("--session", "session", required=True, help="SITE/ID of the session, e.g. chatgpt/abc123")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the bundle (.asice).")
@click.option("--account", envvar="PROMPTSTAMP_ACCOUNT",
              help="Account id that owns the session (default: the only account, if there is one).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), envvar="PROMPTSTAMP_DATA",
              help="Data directory. Default: ./data")
@click.option("--storage", "storage_url", envvar="PROMPTSTAMP_STORAGE", help="file://DIR or s3://BUCKET[/PREFIX]")
@click.option("--key-file", type=click.Path(path_type=Path), envvar="PROMPTSTAMP_KEY_FILE")
@click.option("--lang", "lang", type=click.Choice(sorted(LANG_CHOICES)), default="both", show_default=True,
              help="Report language(s): en (report.html), zh (report.zh.html) or both.")
@click.option("--pdf/--no-pdf", "pdf", default=True, show_default=True,
              help="Add report.pdf, signed under the service key and time-stamped (needs fonts-noto-cjk).")
def export_command(session: str, out: Path, account: str | None, lang: str, pdf: bool, **overrides: Any) -> None:
    """Export a session's evidence bundle (ASiC-E), time-stamped now by the configured TSAs."""
    from .services import build_services

    site, sep, session_id = session.partition("/")
    try:
        if not sep or not site or not session_id:
            raise InvalidInput(f"--session: expected SITE/ID, found {session!r}")
        settings = Settings.from_env().with_overrides(**{k: v for k, v in overrides.items() if v is not None})
        services = build_services(settings, recover=False, upkeep=False)
        try:
            if account is None:
                listed = services.accounts.all()
                if not listed:
                    raise InvalidInput("the store holds no account yet: create one with "
                                       "'promptstamp accounts create NAME' and pair the extension with its token")
                if len(listed) > 1:
                    choices = "\n".join(f"  --account {a.id}   ({a.name}, created {a.created_at})" for a in listed)
                    raise InvalidInput(f"--account: needed, the store holds {len(listed)} accounts:\n{choices}")
                account = listed[0].id
            services.ledger.session_record_ids(account, site, session_id)  # NotFound before anything is written
            services.authorship.ensure_account_record(account)  # the evidence names its owner
            from .report.pdf import font_available  # fpdf2 loads only where PDFs are made

            if pdf and not font_available():
                click.echo("note: no CJK font installed (Debian: fonts-noto-cjk), so the bundle carries no "
                           "report.pdf; the HTML reports are complete", err=True)
                pdf = False
            exhibit = PdfExhibitSigner(services.keyring.signing_key, services.ledger.stamp_digest) if pdf else None
            write_bundle_file(services.ledger, account, site, session_id, out, LANG_CHOICES[lang], exhibit)
        finally:
            services.close()
    except PromptStampError as e:
        click.echo(f"error: {e.detail}", err=True)
        sys.exit(1)
    except OSError as e:
        click.echo(f"error: {e.strerror or e}" + (f" ({e.filename})" if e.filename else ""), err=True)
        sys.exit(1)
    click.echo(f"wrote {out}")


def write_bundle_file(ledger: EvidenceSource, account: str, site: str, session_id: str, out: Path,
                      languages: Sequence[str] = ("en", "zh"), exhibit: Exhibit | None = None) -> None:
    """Write next to ``out`` and rename, so a failed export never leaves a half bundle under its name."""
    evidence = ledger.session_evidence(account, site, session_id)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".asice", dir=out.parent if str(out.parent) else ".")
    try:
        with os.fdopen(fd, "w+b") as f:
            write_bundle(evidence, f, stamp=ledger.stamp_digest, languages=languages, exhibit=exhibit)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
