"""``natid audit``: verify the audit hash chain and show the newest entries.

Settings, engine and audit log are built inside each command, never at import time.
Failures end with a one-line message on stderr and a non-zero exit status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from identity_service.audit import AuditEntry, AuditError, AuditLog
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentityDatabaseError,
    create_identity_engine,
    create_identity_schema,
)

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@contextmanager
def _audit_log() -> Iterator[AuditLog]:
    """The audit log of the configured identity database; errors become a one-line exit."""
    settings = IdentitySettings()
    engine = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        create_identity_schema(engine)
        yield AuditLog(engine, settings.server_secret())
    except (AuditError, IdentityDatabaseError, SQLAlchemyError, OSError, ValueError) as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if engine is not None:
            engine.dispose()


@app.command()
def verify() -> None:
    """Check the whole chain; exit 1 naming the first broken entry if it was tampered with."""
    with _audit_log() as audit:
        result = audit.verify()
    if result.ok:
        typer.echo(f"audit chain OK ({result.checked} entries)")
        return
    typer.echo(
        f"audit chain BROKEN at entry {result.first_broken_seq}: {result.reason} "
        f"({result.checked} entries before it verified)",
        err=True,
    )
    raise typer.Exit(code=1)


@app.command()
def tail(
    count: Annotated[
        int, typer.Option("-n", "--lines", min=1, max=10_000, help="How many entries.")
    ] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line instead of a table.")
    ] = False,
) -> None:
    """The newest entries, oldest first (subjects appear only hashed and masked)."""
    with _audit_log() as audit:
        entries = audit.tail(count)
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(_as_dict(entry), ensure_ascii=False, sort_keys=True))
        return
    table = Table(title=f"Audit log: last {len(entries)} entries")
    for column in ("seq", "time (UTC)", "event", "actor", "client", "level"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.event,
            "" if entry.actor is None else entry.actor[:12],
            entry.client_id or "",
            "" if entry.level is None else str(entry.level),
            json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        )
    Console().print(table)


def _as_dict(entry: AuditEntry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(),
        "event": entry.event,
        "actor": entry.actor,
        "client_id": entry.client_id,
        "level": entry.level,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else error.__class__.__name__
