"""Connecting to the population database and creating its schema.

Owns: turning a URL (``sqlite:///PATH`` or ``postgresql://...``) into a SQLAlchemy engine
with the settings bulk loading needs, creating only the population tables (the identity
service keeps its own tables, possibly in the same PostgreSQL database), loading the
province and unit reference rows, and ``PopulationDatabaseError``: one exception with a
one-line message for every way a database can be unusable.

The tables are made by the Alembic migrations in ``population_db.migrations``. Seeding
migrates a brand-new database itself; a database at an older revision, or one made
before migrations existed, is refused by seeding and by readers alike until an operator
runs ``natid db upgrade`` (``PopulationSchemaError``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlmodel import SQLModel

from population_db import units
from population_db.migrations import POPULATION_HISTORY, POPULATION_VERSION_TABLE
from population_db.migrations.history import SchemaState, SchemaStatus
from population_db.models import AdminUnit, Citizen, Household, Province, SeedRun
from population_db.sqlite_wal import use_wal

#: The tables this package owns, parents first (``province`` refers to ``admin_unit``).
POPULATION_TABLES: tuple[sa.Table, ...] = tuple(
    model.__table__  # type: ignore[attr-defined]
    for model in (AdminUnit, Province, Household, Citizen, SeedRun)
)
CITIZEN_TABLE: sa.Table = Citizen.__table__  # type: ignore[assignment]
HOUSEHOLD_TABLE: sa.Table = Household.__table__  # type: ignore[assignment]
SEED_RUN_TABLE: sa.Table = SeedRun.__table__  # type: ignore[assignment]
PROVINCE_TABLE: sa.Table = Province.__table__  # type: ignore[assignment]
ADMIN_UNIT_TABLE: sa.Table = AdminUnit.__table__  # type: ignore[assignment]

#: Secondary indexes on ``citizen``; the loader builds them after a bulk load.
SECONDARY_INDEXES: tuple[sa.Index, ...] = tuple(
    sorted(CITIZEN_TABLE.indexes, key=lambda index: index.name or "")
)

#: Where the loader stages citizens on SQLite before moving them into ``citizen`` in key
#: order; present only while a seed is in progress.
STAGING_TABLE = "citizen_load"

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Each connection's own page cache (SQLite's default is 2 MiB). An IdP worker keeps one
# connection per thread for lookups, up to forty, and the operating system caches the
# file's pages for all of them anyway: at 1,000,000 citizens a lookup takes 35 µs with
# either size, and the worker's peak resident memory under the load mix went 195 → 175
# MiB. The loader sets a large cache of its own for seeding.
SQLITE_READER_CACHE_KIB = 256
POSTGRES_CONNECT_TIMEOUT_S = 5
_URL_HINT = "expected sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"


class PopulationDatabaseError(Exception):
    """The population database cannot be used; the message is one line and says why."""


class PopulationSchemaError(PopulationDatabaseError):
    """The population schema is not at the revision this code needs (run natid db upgrade)."""


def parse_database_url(url: str) -> URL:
    """Validate a population database URL; PostgreSQL URLs get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        raise PopulationDatabaseError(f"not a valid database URL ({_URL_HINT})") from error
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise PopulationDatabaseError(
                "an in-memory SQLite database cannot hold a population; give a file path "
                "(sqlite:///PATH)"
            )
        return parsed.set(drivername="sqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise PopulationDatabaseError(
        f"unsupported database URL scheme {parsed.drivername!r} ({_URL_HINT})"
    )


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        return "<invalid URL>"
    return parsed.render_as_string(hide_password=True)


def create_population_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for the population database at ``url``, checked to be reachable.

    With ``create`` a missing SQLite file (and its directory) is created; without it a
    missing file is an error, so read commands never leave empty files behind.
    """
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, create=create)
    else:
        engine = _postgres_engine(parsed)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except DBAPIError as error:
        engine.dispose()
        raise PopulationDatabaseError(
            f"cannot open the population database {display_url(parsed)}: {error_summary(error)}"
        ) from error
    return engine


def _sqlite_engine(parsed: URL, *, create: bool) -> Engine:
    path = Path(parsed.database or "")
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PopulationDatabaseError(
                f"cannot create the data directory {path.parent}: {error.strerror}"
            ) from error
    elif not path.is_file():
        raise PopulationDatabaseError(
            f"no population database at {path}; create one with `natid population seed`"
        )
    engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers (a running IdP, `stats`) work while a seed writes; NORMAL sync is
    # durable at checkpoints and never corrupts; the loader writes parents and children
    # in any order, so foreign keys stay off.
    use_wal(dbapi_connection)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_READER_CACHE_KIB}")
    finally:
        cursor.close()


def _postgres_engine(parsed: URL) -> Engine:
    try:
        return sa.create_engine(
            parsed,
            # No pool pre-ping: it would double the round trips of every ``get``; a
            # connection broken by a server restart fails once and the pool is renewed.
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
        )
    except (ArgumentError, NoSuchModuleError) as error:
        raise PopulationDatabaseError(
            f"cannot use the database URL {display_url(parsed)}: {error}"
        ) from error


def error_summary(error: Exception) -> str:
    """The first line of a (wrapped) driver error; PostgreSQL adds indented hints below."""
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def create_population_schema(engine: Engine) -> None:
    """Migrate a new population database (only its tables) and load the reference units.

    A database already at the current revision is kept as it is; an out-of-date or
    unversioned one raises ``PopulationSchemaError`` (run ``natid db upgrade``).
    """
    try:
        status = POPULATION_HISTORY.status(engine)
        if status.state is SchemaState.EMPTY:
            POPULATION_HISTORY.upgrade(engine)
        else:
            _raise_unless_current(status)
        load_reference_units(engine)
    except DBAPIError as error:
        raise PopulationDatabaseError(
            f"cannot create the population schema in {display_url(engine.url)}: "
            f"{error_summary(error)}"
        ) from error


def drop_population_data(engine: Engine) -> None:
    """Drop the population tables (only those) and their schema version: how ``seed
    --force`` starts over."""
    try:
        SQLModel.metadata.drop_all(engine, tables=list(POPULATION_TABLES))
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {POPULATION_VERSION_TABLE}")
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    except DBAPIError as error:
        raise PopulationDatabaseError(
            f"cannot drop the population tables in {display_url(engine.url)}: "
            f"{error_summary(error)}"
        ) from error


def has_population_schema(engine: Engine) -> bool:
    """Whether the population tables exist (the database was seeded or is being seeded)."""
    inspector = sa.inspect(engine)
    return all(inspector.has_table(table.name) for table in POPULATION_TABLES)


def require_population_schema(engine: Engine) -> None:
    """Raise ``PopulationDatabaseError`` unless the population tables exist at the current
    revision (``PopulationSchemaError`` when they are there but out of date)."""
    try:
        present = has_population_schema(engine)
        status = POPULATION_HISTORY.status(engine) if present else None
    except DBAPIError as error:
        raise PopulationDatabaseError(
            f"cannot read the population database {display_url(engine.url)}: {error_summary(error)}"
        ) from error
    if status is None:
        raise PopulationDatabaseError(
            f"{display_url(engine.url)} holds no population; "
            "create one with `natid population seed`"
        )
    _raise_unless_current(status)


def _raise_unless_current(status: SchemaStatus) -> None:
    problem = status.problem("population database")
    if problem is not None:
        raise PopulationSchemaError(problem)


def load_reference_units(engine: Engine) -> None:
    """Insert the 34 current units and the 63 old provinces that are not there yet."""
    unit_rows = [
        {"code": u.code, "name": u.name, "kind": u.kind, "admin_centre": u.admin_centre}
        for u in units.units()
    ]
    province_rows = [
        {
            "code": p.code,
            "name": p.name,
            "kind": p.kind,
            "region": p.region,
            "unit_code": p.unit_code,
        }
        for p in units.provinces()
    ]
    with engine.begin() as connection:
        for table, rows in ((ADMIN_UNIT_TABLE, unit_rows), (PROVINCE_TABLE, province_rows)):
            present = set(connection.execute(sa.select(table.c.code)).scalars())
            missing = [row for row in rows if row["code"] not in present]
            if missing:
                connection.execute(table.insert(), missing)


def create_secondary_indexes(engine: Engine) -> None:
    """Build the secondary indexes on ``citizen`` if they are missing."""
    with engine.begin() as connection:
        for index in SECONDARY_INDEXES:
            index.create(connection, checkfirst=True)


def drop_secondary_indexes(engine: Engine) -> None:
    """Drop the secondary indexes on ``citizen`` (before a bulk load into an empty table)."""
    with engine.begin() as connection:
        for index in SECONDARY_INDEXES:
            index.drop(connection, checkfirst=True)
