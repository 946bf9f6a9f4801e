"""Versioned database schemas with Alembic, configured in code: what both databases share.

Owns ``SchemaHistory``: one Alembic history (a script directory inside its package, no
``alembic.ini``, so it works from any directory and when installed) with its own version
table, so the identity and the population histories can live side by side in one
PostgreSQL database. It tells which state a database is in (``SchemaState``), upgrades it
(one transaction, serialised between processes: several workers may start on one empty
database at once), compares a migrated database with the models (``differences``) and
writes new revisions (``new_revision``).

This module lives in ``population_db`` because that is the lower layer:
``identity_service`` may import ``population_db``, never the reverse.
"""

from __future__ import annotations

import functools
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, op
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from population_db.sqlite_wal import use_wal

UPGRADE_COMMAND = "natid db upgrade"
# A migration waits this long for another process's migration to finish (SQLite).
MIGRATION_BUSY_TIMEOUT_MS = 60_000


class SchemaState(StrEnum):
    EMPTY = "empty"  # none of the history's tables and no version: created automatically
    CURRENT = "current"  # at the newest revision
    OUTDATED = "outdated"  # at an older revision
    UNVERSIONED = "unversioned"  # tables but no version (made before migrations existed)
    UNKNOWN = "unknown"  # at a revision this code does not know (a newer release's)


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    current: str | None  # revision in the database
    head: str  # revision this code expects

    def problem(self, what: str) -> str | None:
        """One line saying what is wrong and what to run, or None when usable as is."""
        if self.state is SchemaState.CURRENT:
            return None
        if self.state is SchemaState.EMPTY:
            return f"the {what} has no schema yet; run: {UPGRADE_COMMAND}"
        if self.state is SchemaState.UNVERSIONED:
            return (
                f"the {what} was created before schema migrations and is not versioned; "
                f"run: {UPGRADE_COMMAND}"
            )
        if self.state is SchemaState.OUTDATED:
            return (
                f"the {what} schema is out of date (revision {self.current}, this version "
                f"needs {self.head}); run: {UPGRADE_COMMAND}"
            )
        return (
            f"the {what} is at revision {self.current}, which this version of natid does "
            f"not know (it needs {self.head}); was it upgraded by a newer release?"
        )


class SchemaHistoryError(Exception):
    """The migration scripts themselves are inconsistent (e.g. two heads to merge)."""


@dataclass(frozen=True)
class SchemaHistory:
    """One Alembic history: where its scripts are, its version table, the models it builds.

    ``metadata`` returns the models' tables (all of them imported); ``foreign_table`` says
    which tables in a shared database belong to someone else and are never compared.
    """

    name: str
    script_location: Path
    version_table: str
    metadata: Callable[[], sa.MetaData]
    foreign_table: Callable[[str], bool] = field(default=lambda _name: False)

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> str:
        """The newest revision of the scripts."""
        return _head_of(self.script_location)

    def revisions(self) -> list[str]:
        """Every revision id, oldest first."""
        script = ScriptDirectory.from_config(self.config())
        return [revision.revision for revision in reversed(list(script.walk_revisions()))]

    def status(self, engine: Engine) -> SchemaStatus:
        """Which state the database is in (raises ``sqlalchemy.exc.SQLAlchemyError``)."""
        head = self.head()
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            heads = context.get_current_heads()
            if not heads:
                present = set(sa.inspect(connection).get_table_names())
                owned = set(self.metadata().tables)
                state = SchemaState.UNVERSIONED if present & owned else SchemaState.EMPTY
                return SchemaStatus(state, None, head)
        current = heads[0] if len(heads) == 1 else ",".join(sorted(heads))
        if heads == (head,):
            return SchemaStatus(SchemaState.CURRENT, current, head)
        known = set(self.revisions())
        state = SchemaState.OUTDATED if set(heads) <= known else SchemaState.UNKNOWN
        return SchemaStatus(state, current, head)

    def differences(self, engine: Engine) -> list[Any]:
        """What ``alembic.autogenerate.compare_metadata`` finds between models and database."""
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=self._compare_options())
            return list(compare_metadata(context, self.metadata()))

    # -- writing ---------------------------------------------------------------------------

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Migrate to ``revision`` in one transaction; concurrent callers wait their turn.

        A database made before migrations existed (tables, no version) is adopted: the
        baseline revision creates only the tables that are missing.
        """
        with self._locked_transaction(engine) as connection:
            command.upgrade(self.config(connection), revision)

    def downgrade(self, engine: Engine, revision: str) -> None:
        """Migrate back to ``revision`` (``"base"``: nothing left) in one transaction."""
        with self._locked_transaction(engine) as connection:
            command.downgrade(self.config(connection), revision)

    def new_revision(self, message: str) -> Path:
        """Write a revision for what the models have and the scripts do not (autogenerate).

        The comparison runs against a scratch SQLite database migrated to the head, so
        no real database is needed; the file lands in this history's ``versions``.
        """
        with tempfile.TemporaryDirectory(prefix="natid-revision-") as scratch:
            engine = sa.create_engine(f"sqlite:///{Path(scratch) / 'head.db'}", poolclass=NullPool)
            try:
                self.upgrade(engine)
                if not self.differences(engine):
                    raise SchemaHistoryError(
                        f"the {self.name} models and migrations already agree; nothing to write"
                    )
                with engine.connect() as connection:
                    config = self.config(connection, target_metadata=self.metadata())
                    rev_id = f"{len(self.revisions()) + 1:04d}"
                    script = command.revision(
                        config, message=message, autogenerate=True, rev_id=rev_id
                    )
            finally:
                engine.dispose()
        _head_of.cache_clear()
        assert script is not None and not isinstance(script, list)
        return Path(script.path)

    # -- Alembic plumbing ------------------------------------------------------------------

    def config(
        self, connection: Connection | None = None, *, target_metadata: sa.MetaData | None = None
    ) -> Config:
        """An Alembic ``Config`` built in code; ``env.py`` reads the attributes."""
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        config.attributes.update(
            history=self, connection=connection, target_metadata=target_metadata
        )
        return config

    def run_environment(self, context: EnvironmentContext) -> None:
        """The body of this history's ``env.py`` (online mode, on the given connection)."""
        attributes = context.config.attributes
        connection: Connection | None = attributes.get("connection")
        if connection is None:
            raise SchemaHistoryError(
                f"the {self.name} migrations run through natid (natid db upgrade), "
                "not the alembic command"
            )
        context.configure(
            connection=connection,
            target_metadata=attributes.get("target_metadata"),
            transactional_ddl=True,
            **self._compare_options(),
        )
        with context.begin_transaction():
            context.run_migrations()

    def _compare_options(self) -> dict[str, Any]:
        return {
            "version_table": self.version_table,
            # SQLite alters tables by copying them; batch mode works on PostgreSQL too.
            "render_as_batch": True,
            "compare_type": True,
            "include_name": self._include_name,
        }

    def _include_name(self, name: str | None, type_: str, _parent: Any) -> bool:
        if type_ != "table" or name is None:
            return True
        return not (_is_version_table(name) or self.foreign_table(name))

    def _lock_key(self) -> int:
        # A stable 31-bit key per history for PostgreSQL's advisory lock.
        return zlib.crc32(f"natid-migrations:{self.name}".encode()) & 0x7FFFFFFF

    @contextmanager
    def _locked_transaction(self, engine: Engine) -> Iterator[Connection]:
        # On SQLite the transaction opens with BEGIN IMMEDIATE: the write lock, at once.
        with self._migration_connection(engine) as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key()}
                )
            yield connection

    @contextmanager
    def _migration_connection(self, engine: Engine) -> Iterator[Connection]:
        if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
            with engine.connect() as connection:
                yield connection
            return
        # pysqlite issues no BEGIN before DDL; this engine of its own lets the driver stay
        # out of the way and opens every transaction with BEGIN IMMEDIATE, so a migration
        # is atomic and a second process waits for the first instead of racing it.
        migration_engine = sa.create_engine(engine.url, poolclass=NullPool)
        sa.event.listen(migration_engine, "connect", _configure_sqlite_for_migrations)
        sa.event.listen(
            migration_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
        try:
            with migration_engine.connect() as connection:
                yield connection
        finally:
            migration_engine.dispose()


def create_table_if_missing(name: str, *elements: sa.SchemaItem) -> None:
    """In a baseline revision: create the table unless a pre-migration database has it."""
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements)


def create_index_if_missing(
    name: str, table: str, columns: list[str], *, unique: bool = False, **dialect_options: Any
) -> None:
    """In a baseline revision: create the index unless a pre-migration database has it."""
    present = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}
    if name not in present:
        op.create_index(name, table, columns, unique=unique, **dialect_options)


def add_column_if_missing(table: str, column: sa.Column[Any]) -> None:
    """Add the column unless the table has it (a pre-migration database made from the
    models already does)."""
    present = {existing["name"] for existing in sa.inspect(op.get_bind()).get_columns(table)}
    if column.name not in present:
        op.add_column(table, column)


def _configure_sqlite_for_migrations(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    use_wal(dbapi_connection)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={MIGRATION_BUSY_TIMEOUT_MS}")
        # Batch operations copy and rename tables; foreign keys are checked by the models.
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


def _is_version_table(name: str) -> bool:
    return name.startswith("alembic_version")


@functools.cache
def _head_of(script_location: Path) -> str:
    """The head of a script directory, read once per process (the scripts do not change)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    try:
        heads = ScriptDirectory.from_config(config).get_heads()
    except CommandError as error:
        raise SchemaHistoryError(f"cannot read the migrations: {error}") from error
    if len(heads) != 1:
        raise SchemaHistoryError(
            f"the migrations in {script_location} have {len(heads)} heads ({', '.join(heads)}); "
            "give the newer revision the other as down_revision"
        )
    return heads[0]
