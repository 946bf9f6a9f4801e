"""Audit entries for administrative commands (``natid accounts``, ``clients``, ``keys``).

An officer's or operator's action is appended to the same hash-chained audit log as the
service's own events, as ``admin.<action>``: under the citizen concerned when there is
one (stored only as the audit log's keyed hash, so the citizen's account page lists it),
otherwise with the actor ``cli``. Details never hold secrets (client secrets, TOTP
secrets, passwords): only what was done.

The entry is written after the action succeeded; if the audit log cannot take it, the
command says so on stderr and exits non-zero, so scripts notice an unaudited action.
"""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from identity_service.audit import AuditError, AuditLog
from identity_service.config import IdentitySettings
from identity_service.db import IdentityDatabaseError, create_identity_engine

CLI_ACTOR = "cli"


def record_admin_action(
    settings: IdentitySettings,
    action: str,
    *,
    subject: str | None = None,
    client_id: str | None = None,
    level: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append ``admin.<action>`` to the audit log of ``settings``' identity database."""
    engine = None
    try:
        engine = create_identity_engine(settings.identity_database_url())
        AuditLog(engine, settings.server_secret()).record(
            f"admin.{action}",
            subject=subject,
            actor=None if subject is not None else CLI_ACTOR,
            client_id=client_id,
            level=level,
            details={"by": CLI_ACTOR, **(details or {})},
        )
    except (AuditError, IdentityDatabaseError, SQLAlchemyError, OSError) as error:
        typer.echo(f"error: done, but not audited: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        if engine is not None:
            engine.dispose()
