"""``natid db``: schema migrations of the identity and population databases.

``upgrade`` brings each database to the newest revision (a database made before
migrations existed is adopted), ``current`` shows where each one stands, ``revision``
writes a new migration from what the models have and the scripts do not. The databases
are the ones the service uses (``NATID_IDENTITY_DB_URL``, ``NATID_POPULATION_DB_URL``,
else the files in ``NATID_DATA_DIR``). Failures end with one line on stderr and exit 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine
from identity_service.migrations import IDENTITY_HISTORY
from population_db import db as population_db
from population_db.migrations import POPULATION_HISTORY
from population_db.migrations.history import (
    SchemaHistory,
    SchemaHistoryError,
    SchemaState,
    SchemaStatus,
)

app = typer.Typer(help="Schema migrations of the identity and population databases.")

IdentityOption = Annotated[bool, typer.Option("--identity", help="Only the identity database.")]
PopulationOption = Annotated[
    bool, typer.Option("--population", help="Only the population database.")
]


@dataclass(frozen=True)
class _Database:
    label: str  # "identity database"
    url: str
    history: SchemaHistory


def _databases(identity: bool, population: bool) -> list[_Database]:
    settings = IdentitySettings()
    both = not identity and not population
    chosen = []
    if identity or both:
        chosen.append(
            _Database("identity database", settings.identity_database_url(), IDENTITY_HISTORY)
        )
    if population or both:
        chosen.append(
            _Database("population database", settings.population_database_url(), POPULATION_HISTORY)
        )
    return chosen


@contextmanager
def _engine(database: _Database, *, create_identity: bool) -> Iterator[Engine | None]:
    """The database's engine; None for a SQLite file that does not exist and is not made
    here (the population's is made by seeding; the identity one by ``upgrade``)."""
    engine: Engine | None = None
    try:
        if database.history is IDENTITY_HISTORY:
            if create_identity or not _missing_sqlite_file(database.url):
                engine = create_identity_engine(database.url)
        elif not _missing_sqlite_file(database.url):
            engine = population_db.create_population_engine(database.url)
        yield engine
    except (SQLAlchemyError, population_db.PopulationDatabaseError, SchemaHistoryError) as error:
        _fail(f"{database.label} {population_db.display_url(database.url)}: {_one_line(error)}")
    finally:
        if engine is not None:
            engine.dispose()


@app.command()
def upgrade(identity: IdentityOption = False, population: PopulationOption = False) -> None:
    """Bring the databases (both unless one is named) to the newest schema revision."""
    for database in _databases(identity, population):
        where = f"{database.label} {population_db.display_url(database.url)}"
        with _engine(database, create_identity=True) as engine:
            if engine is None:
                typer.echo(f"{where}: does not exist yet (natid population seed creates it)")
                continue
            before = database.history.status(engine)
            if before.state is SchemaState.UNKNOWN:
                _fail(f"{where}: {before.problem(database.label)}")
            if before.state is not SchemaState.CURRENT:
                database.history.upgrade(engine)
            if database.history is POPULATION_HISTORY:
                population_db.load_reference_units(engine)
            after = database.history.status(engine)
        typer.echo(f"{where}: {_change(before, after)}")


@app.command()
def current(identity: IdentityOption = False, population: PopulationOption = False) -> None:
    """Show each database's schema revision and whether it needs an upgrade (exit 1 if so)."""
    behind = False
    for database in _databases(identity, population):
        where = f"{database.label} {population_db.display_url(database.url)}"
        with _engine(database, create_identity=False) as engine:
            if engine is None:
                typer.echo(f"{where}: does not exist yet")
                continue
            status = database.history.status(engine)
        problem = status.problem(database.label)
        if problem is None:
            typer.echo(f"{where}: revision {status.current} (current)")
        else:
            typer.echo(f"{where}: {problem}")
            behind = True
    if behind:
        raise typer.Exit(code=1)


@app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
    population: Annotated[
        bool, typer.Option("--population", help="A population revision (default: identity).")
    ] = False,
) -> None:
    """Write a migration for what the models have and the migrations lack (review it!)."""
    history = POPULATION_HISTORY if population else IDENTITY_HISTORY
    try:
        path = history.new_revision(message)
    except (SQLAlchemyError, SchemaHistoryError) as error:
        _fail(_one_line(error))
    typer.echo(f"wrote {path}; review it, then run the migration tests")


def _change(before: SchemaStatus, after: SchemaStatus) -> str:
    if before.state is SchemaState.CURRENT:
        return f"already at revision {after.current} (current)"
    origin = {
        SchemaState.EMPTY: "new schema",
        SchemaState.UNVERSIONED: "existing tables adopted",
    }.get(before.state, f"from revision {before.current}")
    return f"upgraded to revision {after.current} ({origin})"


def _missing_sqlite_file(url: str) -> bool:
    parsed = population_db.parse_database_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file()


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _one_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__
