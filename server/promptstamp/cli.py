"""The ``promptstamp`` command. Catches the base error once and exits non-zero with its message."""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .cli_evidence import export_command, verify_command
from .config import Settings, TsaConfig
from .errors import InvalidInput, PromptStampError

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(func: F) -> F:
    """Options every command that touches the store shares; each also reads a PROMPTSTAMP_* variable."""
    options = [
        click.option("--data", "data_dir", type=click.Path(path_type=Path), envvar="PROMPTSTAMP_DATA",
                     help="Data directory (embedded store, keys, dev TSA). Default: ./data"),
        click.option("--storage", "storage_url", envvar="PROMPTSTAMP_STORAGE",
                     help="file://DIR or s3://BUCKET[/PREFIX] (with PROMPTSTAMP_S3_* for endpoint and credentials)"),
        click.option("--key-file", type=click.Path(path_type=Path), envvar="PROMPTSTAMP_KEY_FILE",
                     help="Service signing key file. Default: DATA/keys/service.key"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env().with_overrides(**overrides)


def _guard(func: F) -> F:
    """One line on standard error and exit 1, never a traceback: for our errors and the operating system's."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PromptStampError as e:
            click.echo(f"error: {e.detail}", err=True)
            sys.exit(1)
        except OSError as e:
            where = f" ({e.filename})" if e.filename else ""
            click.echo(f"error: {e.strerror or e}{where}", err=True)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]


@click.group(epilog="Example: promptstamp serve   (then open http://127.0.0.1:8080/). "
                     "'promptstamp COMMAND --help' shows each command's options and an example.")
@click.version_option(package_name="promptstamp")
def main() -> None:
    """PromptStamp: signed, time-stamped evidence of AI-assisted creative work."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command(epilog="Example: PROMPTSTAMP_PORT=9090 promptstamp serve --tsa "
                     "'digicert=http://timestamp.digicert.com'")
@settings_options
@click.option("--host", envvar="PROMPTSTAMP_HOST", help="Listen address. Default: 127.0.0.1")
@click.option("--port", type=int, envvar="PROMPTSTAMP_PORT", help="Listen port. Default: 8080")
@click.option("--tsa", "tsa_entries", multiple=True,
              help="TSA as [NAME=]URL[|CA_FILE]; repeatable (or PROMPTSTAMP_TSA, whitespace separated). "
                   "None: the built-in development TSA (untrusted).")
@click.option("--batch-window-ms", type=int, envvar="PROMPTSTAMP_BATCH_WINDOW_MS")
@click.option("--batch-max", type=int, envvar="PROMPTSTAMP_BATCH_MAX")
@click.option("--max-body-bytes", type=int, envvar="PROMPTSTAMP_MAX_BODY_BYTES")
@click.option("--workers", type=int, default=2, envvar="PROMPTSTAMP_WORKERS", show_default=True,
              help="gunicorn worker processes")
@click.option("--threads", type=int, default=32, envvar="PROMPTSTAMP_THREADS", show_default=True,
              help="threads per worker (requests waiting for their batch hold a thread)")
@click.option("--gunicorn-config", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              envvar="PROMPTSTAMP_GUNICORN_CONFIG", help="gunicorn config file; its settings win over the flags")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", envvar="PROMPTSTAMP_LOG_FORMAT",
              show_default=True, help="json: one object per line with the request id")
@_guard
def serve(tsa_entries: tuple[str, ...], workers: int, threads: int, gunicorn_config: Path | None, log_format: str,
          **overrides: Any) -> None:
    """Run the service (gunicorn). With no configuration: files under ./data and the dev TSA."""
    from .server import run_server

    tsas = tuple(TsaConfig.parse(e) for e in tsa_entries) or None
    run_server(_settings(tsas=tsas, **overrides), workers=workers, threads=threads, config_file=gunicorn_config,
               log_format=log_format)


@main.group(epilog="Example: promptstamp accounts create --name 'Ada Lovelace'")
def accounts() -> None:
    """Manage accounts and their API tokens."""


@accounts.command("create", epilog="Example: promptstamp accounts create --name 'Ada Lovelace' --contact "
                                   "ada@example.org  (prints the API token to paste into the extension)")
@settings_options
@click.argument("name", required=False)
@click.option("--name", "name_option", help="The account's display name, as its evidence will state it.")
@click.option("--contact", help="Optional contact (e-mail, address) stated with the name.")
@_guard
def accounts_create(name: str | None, name_option: str | None, contact: str | None, **overrides: Any) -> None:
    """Create an account; prints its API token once (it is stored only as a hash).

    The name (and contact) become the account's first account record, signed and time-stamped with its
    first upload; the owner can state another later (PUT /v1/account, or the dashboard).
    """
    from .accounts import Accounts
    from .statements import MAX_CONTACT, MAX_DISPLAY_NAME, clean_text
    from .storage.factory import open_store

    given = name_option or name
    if not given:
        raise click.UsageError("give the display name: promptstamp accounts create --name 'Ada Lovelace'")
    display = clean_text(given, "name", MAX_DISPLAY_NAME, required=True) or ""
    account, token = Accounts(open_store(_settings(**overrides))).create(
        display, clean_text(contact, "contact", MAX_CONTACT, required=False))
    click.echo(f"account {account.id} ({account.name})", err=True)
    click.echo("API token (shown once, keep it safe):", err=True)
    click.echo(token)


@accounts.command("list", epilog="Example: promptstamp accounts list")
@settings_options
@_guard
def accounts_list(**overrides: Any) -> None:
    """List accounts (ids, names, creation times)."""
    from .accounts import Accounts
    from .storage.factory import open_store

    for a in Accounts(open_store(_settings(**overrides))).all():
        click.echo(f"{a.id}  {a.created_at}  {a.name}")


@accounts.group("tokens", epilog="Example: promptstamp accounts tokens list --account 0123456789abcdef01234567")
def accounts_tokens() -> None:
    """List, revoke and rotate an account's API tokens.

    A revocation takes effect on every instance within 10 seconds, for the API and for dashboard
    sign-ins made with that token."""


@accounts_tokens.command("list", epilog="Example: promptstamp accounts tokens list --account 0123456789abcdef01234567")
@settings_options
@click.option("--account", "account_id", required=True, help="The account's id (promptstamp accounts list).")
@_guard
def tokens_list(account_id: str, **overrides: Any) -> None:
    """The account's tokens by id (the SHA-256 they are stored under), creation time and state."""
    from .accounts import Accounts
    from .storage.factory import open_store

    for t in Accounts(open_store(_settings(**overrides))).tokens(account_id):
        click.echo(f"{t.id[:16]}  {t.created_at}  {'revoked' if t.revoked else 'active'}")


@accounts_tokens.command("revoke", epilog="Example: promptstamp accounts tokens revoke --account "
                                          "0123456789abcdef01234567 3f2a9c01d4e5b6a7")
@settings_options
@click.option("--account", "account_id", required=True, help="The account's id (promptstamp accounts list).")
@click.argument("token_or_id")
@_guard
def tokens_revoke(account_id: str, token_or_id: str, **overrides: Any) -> None:
    """Revoke one token: give the token itself (ps_…) or its id as 'tokens list' shows it."""
    from .accounts import Accounts
    from .revocation import REVOCATION_TTL_S
    from .storage.factory import open_store

    revoked = Accounts(open_store(_settings(**overrides))).revoke_token(account_id, token_or_id)
    click.echo(f"revoked {revoked.id[:16]}; every instance refuses it within {REVOCATION_TTL_S:.0f} s")


@accounts_tokens.command("rotate", epilog="Example: promptstamp accounts tokens rotate --account "
                                          "0123456789abcdef01234567   (then re-pair the extension)")
@settings_options
@click.option("--account", "account_id", required=True, help="The account's id (promptstamp accounts list).")
@_guard
def tokens_rotate(account_id: str, **overrides: Any) -> None:
    """Issue a new token and revoke every other token of the account; prints the new token once."""
    from .accounts import Accounts
    from .revocation import REVOCATION_TTL_S
    from .storage.factory import open_store

    new, revoked = Accounts(open_store(_settings(**overrides))).rotate_tokens(account_id)
    click.echo(f"revoked {len(revoked)} token(s); every instance refuses them within {REVOCATION_TTL_S:.0f} s",
               err=True)
    click.echo("new API token (shown once, keep it safe; pair the extension with it again):", err=True)
    click.echo(new)


@main.group(invoke_without_command=True,
            epilog="Examples: promptstamp keys;  promptstamp keys --pem > service-key.pem  "
                   "(the file that 'verify.sh -k' and 'promptstamp verify --trust-key' take)")
@settings_options
@click.option("--pem", "pem_id", is_flag=False, flag_value="current", default=None, metavar="[KEY_ID]",
              help="Print a service public key as SPKI PEM: the current key, or the one with this id.")
@click.pass_context
@_guard
def keys(ctx: click.Context, /, pem_id: str | None, **overrides: Any) -> None:
    """Show the service key ids and fingerprints (current first, then rotated-out keys)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = overrides
        return
    from .keyring import Keyring, load_or_create_key
    from .storage.factory import open_store

    settings = _settings(**overrides)
    keyring = Keyring(open_store(settings), load_or_create_key(settings.resolved_key_file))
    entries = keyring.entries()
    if pem_id is not None:
        chosen = [e for e in entries if (e.current if pem_id == "current" else e.key.id == pem_id)]
        if not chosen:
            known = ", ".join(e.key.id for e in entries)
            raise InvalidInput(f"--pem: no service key {pem_id!r}; the store holds {known}")
        click.echo(chosen[0].key.pem, nl=False)
        return
    for entry in entries:
        j = entry.to_json()
        click.echo(f"{j['key']}  ed25519  {j['fingerprint']}  {'current' if entry.current else 'retired'}")


@keys.command("rotate", epilog="Example: promptstamp keys rotate   (then restart every instance)")
@settings_options
@click.pass_obj
@_guard
def keys_rotate(group_overrides: dict[str, Any], /, **overrides: Any) -> None:
    """Sign new receipts with a new key; receipts signed by the old key keep verifying.

    Publishes the new public key in the store, then replaces the key file. Restart (or roll) every
    instance that reads this key file so they all sign with the new key.
    """
    from .keyring import rotate_key
    from .storage.factory import open_store

    settings = _settings(**{**group_overrides, **{k: v for k, v in overrides.items() if v is not None}})
    retired, new = rotate_key(settings.resolved_key_file, open_store(settings))
    click.echo(f"retired {retired.id} (its receipts still verify: keys/{retired.id}.pem stays in the store)", err=True)
    click.echo(f"current {new.id}  written to {settings.resolved_key_file}; restart every instance that uses it",
               err=True)
    click.echo(new.id)


@main.group(epilog="Example: promptstamp tsa serve --port 3180")
def tsa() -> None:
    """The built-in development TSA."""


@tsa.command("serve", epilog="Example: promptstamp tsa serve --port 3180   (for tests only: its tokens are "
                             "marked untrusted everywhere)")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), envvar="PROMPTSTAMP_DATA")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=3180, show_default=True)
@_guard
def tsa_serve(data_dir: Path | None, host: str, port: int) -> None:
    """Run the development RFC 3161 TSA (UNTRUSTED: its root is generated locally)."""
    from .services import start_dev_tsa

    config, dev_tsa = start_dev_tsa(_settings(data_dir=data_dir), host, port)
    click.echo(f"development TSA (UNTRUSTED) at {config.url}; root certificate: {config.ca_file}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        dev_tsa.shutdown()


main.add_command(export_command)
main.add_command(verify_command)


@main.command(epilog="Example: promptstamp renew --margin-days 365   (or --force to renew whatever is not renewed)")
@click.option("--margin-days", type=float, default=None,
              help="Renew once a certificate expires within this many days. Default: PROMPTSTAMP_RENEW_MARGIN_DAYS "
                   "or 180")
@click.option("--force", is_flag=True, help="Renew now whatever no renewal covers yet, due or not")
@click.option("--settle-s", type=float, default=None,
              help="Leave batches sealed less than this many seconds ago to the next renewal. Default: 3600")
@settings_options
@_guard
def renew(margin_days: float | None, force: bool, settle_s: float | None, **overrides: Any) -> None:
    """Archive time-stamps (RFC 4998): keep the proof of every batch valid after its TSA certificates expire.

    Time-stamps one hash tree over the time-stamp files of every batch no renewal covers yet, and over
    earlier renewals whose certificates are expiring, once the earliest certificate expiry among them is
    within the margin. The service does the same on its own (PROMPTSTAMP_RENEW_CHECK_S). Bundles exported
    afterwards carry each batch's evidence record (batches/<id>/evidence.ers)."""
    from datetime import timedelta

    from .renewal import SETTLE_S, Renewals
    from .services import build_services

    settings = _settings(**overrides)
    services = build_services(settings, recover=False, upkeep=False)
    try:
        ledger = services.ledger
        margin = timedelta(days=settings.renew_margin_days if margin_days is None else margin_days)
        renewals = Renewals(services.store, ledger.index, ledger.tsas, margin=margin,
                            settle_s=SETTLE_S if settle_s is None else settle_s)
        plan = renewals.plan()
        run = renewals.renew(force=force)
        if run is None:
            when = plan.earliest.date().isoformat() if plan.earliest else "no certificate to watch"
            click.echo(f"nothing to renew: {len(plan.batches)} batch(es) and {len(plan.heads)} renewal(s) not renewed "
                       f"yet; earliest expiry {when}" + (f" ({plan.earliest_what})" if plan.earliest else "")
                       + f"; margin {margin.days} days")
            return
        batches = sum(s.count for s in run.segments if s.kind == "batches")
        click.echo(f"renewal {run.id}: {batches} batch(es) and {len(run.renews)} earlier renewal(s) time-stamped "
                   f"by TSA {run.tsa}; its certificate expires {run.not_after.date() if run.not_after else 'never'}"
                   + (f"; OCSP not archived: {run.ocsp_error}" if run.ocsp_error else ""))
    finally:
        services.close()


@main.command(epilog="Example: PROMPTSTAMP_RECOVERY_GRACE_S=0 promptstamp recover   (with every instance stopped)")
@settings_options
@_guard
def recover(**overrides: Any) -> None:
    """Finish interrupted batches now (the service also does this at start-up and every minute).

    Batches younger than PROMPTSTAMP_RECOVERY_GRACE_S (default 120 s) are left alone: they may still
    be sealing in a running instance. Set it to 0 when no instance is running."""
    from .services import build_services

    services = build_services(_settings(**overrides), recover=False, upkeep=False)
    try:
        click.echo(services.recover())
    finally:
        services.close()
