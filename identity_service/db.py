"""The identity database: its own SQLModel metadata, engine factory and schema creation.

Identity tables (accounts, signing keys, clients, consents, ...) subclass ``IdentityBase``
with ``table=True``. ``IdentityBase`` has its own registry and metadata, so
``create_identity_schema`` never creates identity tables in the population database and
the population schema never leaks in here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import SQLModel, create_engine

SQLITE_BUSY_TIMEOUT_MS = 5000


class IdentityDatabaseError(Exception):
    """The identity database cannot be reached or prepared."""


class IdentityBase(SQLModel, registry=registry()):
    """Base of every identity table (separate metadata from the population database)."""


def create_identity_engine(url: str, **engine_options: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout, PostgreSQL uses psycopg 3.

    The parent directory of a SQLite file is created if missing.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **engine_options)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"check_same_thread": False}, **engine_options)

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    return engine


def create_identity_schema(engine: Engine) -> None:
    """Create every identity table that does not exist yet (idempotent)."""
    try:
        IdentityBase.metadata.create_all(engine)
    except SQLAlchemyError as error:
        raise IdentityDatabaseError(
            f"cannot prepare the identity database: {error.__class__.__name__}: "
            f"{_first_line(error)}"
        ) from error


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
