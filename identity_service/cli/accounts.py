"""``natid accounts``: register a citizen, upgrade to level 2, seed demo accounts, show one,
provision load-test accounts.

Settings, engines, the population registry and the state store are built inside each
command, never at import time; the identity schema is created if missing. Failures end
with a one-line message on stderr and a non-zero exit status. Output masks ID numbers,
except ``demo --json`` and ``provision``'s credentials file, whose whole point is to hand
scripts (and Locust) the demo and load-test credentials.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import qrcode
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from identity_service.accounts import AccountError, AccountService
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.provisioning import (
    ProvisioningError,
    provision_load_test_accounts,
    write_credentials_file,
)
from identity_service.cli.admin_audit import record_admin_action
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentityDatabaseError,
    create_identity_engine,
    create_identity_schema,
)
from identity_service.state import StateStoreUnavailableError, create_state_store
from population_db.db import PopulationDatabaseError
from population_db.identifiers import mask
from population_db.registry import PopulationRegistry

app = typer.Typer(help="e-ID accounts of citizens.", no_args_is_help=True)

LOAD_TEST_DIRECTORY = "loadtest"
ACCOUNTS_FILE = "accounts.json"

_FAILURES = (
    AccountError,
    ProvisioningError,
    IdentityDatabaseError,
    PopulationDatabaseError,
    StateStoreUnavailableError,
    SQLAlchemyError,
    OSError,
    ValueError,
)


@contextmanager
def _account_service() -> Iterator[AccountService]:
    """The account service of the configured databases; errors become a one-line exit."""
    settings = IdentitySettings()
    engine = registry = state = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        create_identity_schema(engine)
        registry = PopulationRegistry.from_url(settings.population_database_url())
        state = create_state_store(settings.redis_url)
        yield AccountService(engine, registry, state, settings)
    except _FAILURES as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if state is not None:
            state.close()
        if registry is not None:
            registry.close()
        if engine is not None:
            engine.dispose()


def _one_line(error: Exception) -> str:
    if isinstance(error, AccountError):
        return error.message("en")
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


@app.command()
def register(
    personal_id_number: Annotated[
        str, typer.Option("--personal-id-number", prompt="Personal ID number")
    ],
    full_name: Annotated[str, typer.Option("--full-name", prompt="Full name")],
    birth_date: Annotated[
        str, typer.Option("--birth-date", prompt="Birth date (YYYY-MM-DD)", help="YYYY-MM-DD")
    ],
    phone: Annotated[str, typer.Option("--phone", prompt="Mobile number")],
    password: Annotated[
        str,
        typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True),
    ],
) -> None:
    """Register a level-1 account; the details must match the population record."""
    try:
        declared = dt.date.fromisoformat(birth_date.strip())
    except ValueError:
        typer.echo("error: the birth date must be written YYYY-MM-DD", err=True)
        raise typer.Exit(code=1) from None
    with _account_service() as service:
        account = service.register(personal_id_number, full_name, declared, phone, password)
    record_admin_action(
        IdentitySettings(), "account_registered", subject=account.personal_id_number, level=1
    )
    typer.echo(f"Registered a level-1 account for {mask(account.personal_id_number)}.")


@app.command()
def upgrade(
    personal_id_number: Annotated[str, typer.Argument(help="The citizen's ID number.")],
    level: Annotated[int, typer.Option("--level", min=2, max=2, help="Target level (2).")] = 2,
) -> None:
    """Level 2: after the in-person check, bind a TOTP authenticator (prints its URI)."""
    with _account_service() as service:
        enrollment = service.upgrade_to_level2(personal_id_number)
        upgraded = service.summary(personal_id_number)
    if upgraded is not None:
        record_admin_action(
            IdentitySettings(),
            "account_upgraded",
            subject=upgraded.personal_id_number,
            level=upgraded.level,
        )
    typer.echo(f"Level {level} account for {mask(personal_id_number.strip())}.")
    typer.echo("Scan this into an authenticator app (shown once):")
    typer.echo(enrollment.provisioning_uri)
    typer.echo(_terminal_qr(enrollment.provisioning_uri))


def _terminal_qr(text: str) -> str:
    """The QR code as terminal text (dark modules drawn light, for dark terminals)."""
    code = qrcode.QRCode(border=2)
    code.add_data(text)
    buffer = io.StringIO()
    code.print_ascii(out=buffer, invert=True)
    return buffer.getvalue()


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Give the demo citizens their accounts (idempotent) and print the credentials."""
    with _account_service() as service:
        credentials = service.ensure_demo_accounts()
    if as_json:
        payload = [credential.as_json() for credential in credentials]
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    table = Table(title="Demo accounts")
    table.add_column("ID number", no_wrap=True)
    table.add_column("name")
    table.add_column("level")
    for column in ("password", "TOTP secret"):
        table.add_column(column, no_wrap=True, overflow="fold")
    for credential in credentials:
        table.add_row(
            credential.personal_id_number,
            credential.full_name,
            str(credential.level),
            credential.password,
            credential.totp_secret or "",
        )
    Console().print(table)


@app.command()
def show(
    personal_id_number: Annotated[str, typer.Argument(help="The citizen's ID number.")],
) -> None:
    """An account's level and status (never its secrets)."""
    with _account_service() as service:
        summary = service.summary(personal_id_number)
        if summary is None:
            typer.echo("error: no e-ID account exists for this ID number", err=True)
            raise typer.Exit(code=1)
    typer.echo(f"account: {mask(summary.personal_id_number)}")
    typer.echo(f"level: {summary.level}")
    typer.echo(f"status: {summary.status}")
    typer.echo(f"authenticator bound: {'yes' if summary.has_totp else 'no'}")
    typer.echo(f"created: {summary.created_at.isoformat(timespec='seconds')}")


@app.command()
def provision(
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="How many load-test accounts.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Credentials file for Locust (default: <data dir>/loadtest/accounts.json).",
        ),
    ] = None,
) -> None:
    """Give COUNT seeded citizens load-test accounts (one shared password) and write the
    JSON list of {personal_id_number, password} that Locust reads. Idempotent."""
    settings = IdentitySettings()
    target = output or settings.data_dir / LOAD_TEST_DIRECTORY / ACCOUNTS_FILE
    engine = registry = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        create_identity_schema(engine)
        registry = PopulationRegistry.from_url(settings.population_database_url())
        result = provision_load_test_accounts(
            engine, registry, PasswordHashing.from_settings(settings), count
        )
        write_credentials_file(target, result.credentials)
        record_admin_action(
            settings, "load_test_accounts_provisioned", details={"count": len(result.credentials)}
        )
    except _FAILURES as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if registry is not None:
            registry.close()
        if engine is not None:
            engine.dispose()
    typer.echo(
        f"{len(result.credentials):,} load-test accounts ({result.created:,} new) in "
        f"{result.seconds:.2f} s ({result.accounts_per_second:,.0f} accounts/s); "
        f"credentials in {target}"
    )
