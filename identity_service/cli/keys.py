"""``natid keys``: rotate signing keys, list them, print the JWKS.

Settings, engine and key store are built inside each command, never at import time.
Failures end with a one-line message on stderr and a non-zero exit status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from identity_service.cli.admin_audit import record_admin_action
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentityDatabaseError,
    create_identity_engine,
    create_identity_schema,
)
from identity_service.keys import KeyStore, KeyStoreError

app = typer.Typer(help="Signing keys of the OpenID Connect provider.", no_args_is_help=True)

Algorithm = Literal["ES256", "EdDSA", "RS256"]


@contextmanager
def _key_store() -> Iterator[tuple[KeyStore, IdentitySettings]]:
    """The key store of the configured identity database; errors become a one-line exit."""
    settings = IdentitySettings()
    engine = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        create_identity_schema(engine)
        yield KeyStore.from_settings(engine, settings), settings
    except (KeyStoreError, IdentityDatabaseError, SQLAlchemyError, OSError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if engine is not None:
            engine.dispose()


@app.command()
def rotate(
    alg: Annotated[
        Algorithm | None,
        typer.Option("--alg", help="Rotate only this algorithm (default: all of them)."),
    ] = None,
    retain_seconds: Annotated[
        int | None,
        typer.Option(
            "--retain-seconds",
            min=0,
            help="Keep the old key published this long (default: the longest token TTL).",
        ),
    ] = None,
) -> None:
    """Create new signing keys; the old ones stay in the JWKS until their tokens expire."""
    with _key_store() as (store, settings):
        retain = settings.longest_token_ttl() if retain_seconds is None else retain_seconds
        store.ensure_keys()
        kids = store.rotate(alg, retain_seconds=retain)
    record_admin_action(
        settings,
        "keys_rotated",
        details={"alg": alg or "all", "kids": kids, "retain_seconds": retain},
    )
    for kid in kids:
        typer.echo(kid)


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every stored key with its algorithm, status and retire time."""
    with _key_store() as (store, _settings):
        keys = store.list_keys()
    if as_json:
        rows = [
            {
                "kid": key.kid,
                "alg": key.alg,
                "status": key.status,
                "created_at": key.created_at.isoformat(),
                "retire_at": None if key.retire_at is None else key.retire_at.isoformat(),
            }
            for key in keys
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Signing keys")
    for column in ("kid", "alg", "status", "created", "retire at"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.kid, key.alg, key.status, _format_time(key.created_at), _format_time(key.retire_at)
        )
    Console().print(table)


@app.command()
def jwks() -> None:
    """Print the published JSON Web Key Set (creating the first keys if there are none)."""
    with _key_store() as (store, _settings):
        store.ensure_keys()
        key_set = store.jwks()
    typer.echo(json.dumps(key_set, indent=2))


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else error.__class__.__name__


def _format_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")
