"""The identity database: its own SQLModel metadata, engine factory and schema preparation.

Identity tables (accounts, signing keys, clients, consents, ...) subclass ``IdentityBase``
with ``table=True``. ``IdentityBase`` has its own registry and metadata, so identity tables
never land in the population database and the population schema never leaks in here.

The schema is made by the Alembic migrations in ``identity_service.migrations``.
``create_identity_schema`` is the startup policy: a brand-new empty database is migrated
to the current revision on the spot (``make demo`` and tests need nothing else); a
database at an older revision, or one made before migrations existed, is refused with a
one-line ``IdentitySchemaError`` that says to run ``natid db upgrade`` — migrating live
data is an operator's decision, taken once, not something every worker does at start.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import registry
from sqlmodel import SQLModel, create_engine

from population_db.sqlite_threads import ThreadConnections, fetch_one, thread_connections
from population_db.sqlite_wal import use_wal

SQLITE_BUSY_TIMEOUT_MS = 5000
# Each connection's own page cache (SQLite's default is 2 MiB): a worker pools up to
# fifteen, and the operating system caches the file's pages for all of them anyway. The
# audit log and refresh tokens keep adding pages, so unbounded caches fill slowly over a
# long run; 512 KiB each holds the small tables' B-tree interiors.
SQLITE_CACHE_KIB = 512
# How long a write on the event loop waits for this process's other writer (an audit
# batch commits in a fraction of a millisecond) before it goes to the thread pool.
LOOP_WRITE_LOCK_WAIT_SECONDS = 0.002
POSTGRES_CONNECT_TIMEOUT_SECONDS = 3


class _SqliteConnection(sqlite3.Connection):
    """A driver connection that remembers the busy timeout it was last given. A thread's
    own connection (``sqlite_threads``) keeps the timeout a write that must not wait set
    (zero) until a write that may wait needs it back, instead of setting and restoring it
    around every such write: two statements fewer for each audit append and refresh on
    the event loop, where nothing is meant to wait anyway. Its reads are unaffected: in
    WAL mode a reader does not wait for the write lock."""

    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS


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
        # A server that does not answer must fail the request (503), not hold it for
        # the operating system's TCP timeout (minutes).
        connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
        connect_args.update(engine_options.pop("connect_args", {}))
        return create_engine(
            parsed, pool_pre_ping=True, connect_args=connect_args, **engine_options
        )

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "factory": _SqliteConnection},
        **engine_options,
    )

    on_disk = bool(database) and database != ":memory:"

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        if on_disk:
            use_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        try:
            if on_disk:
                # WAL + NORMAL: a commit survives a killed process (not a power cut) and
                # skips one fsync per transaction on the login and audit paths
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    return engine


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_LOCK = threading.Lock()


def sqlite_writer_lock(engine: Engine) -> threading.Lock:
    """The lock this process's writers to ``engine``'s SQLite file take turns at, rather
    than in SQLite's busy handler, which polls with sleeps of milliseconds; other
    processes still wait on ``BEGIN IMMEDIATE``."""
    with _SQLITE_WRITERS_LOCK:
        lock = _SQLITE_WRITERS.get(engine)
        if lock is None:
            lock = _SQLITE_WRITERS[engine] = threading.Lock()
        return lock


class SqliteWriteWouldWaitError(Exception):
    """A write inside ``sqlite_writes_without_waiting`` found the database's write lock
    taken; nothing was written. The caller repeats the work where it may wait."""


class _NoWaiting:
    """The state of one ``sqlite_writes_without_waiting`` block."""

    __slots__ = ("armed",)

    def __init__(self) -> None:
        self.armed = True


_no_waiting: ContextVar[_NoWaiting | None] = ContextVar("natid_sqlite_no_waiting", default=None)


@contextmanager
def sqlite_writes_without_waiting() -> Iterator[None]:
    """Inside, a write transaction does not wait for SQLite's write lock: it
    waits ``LOOP_WRITE_LOCK_WAIT_SECONDS`` at most for this process's other writers and
    not at all for another process's, and raises ``SqliteWriteWouldWaitError`` instead.

    For work on the event loop, where a wait stalls every request: the caller catches the
    error and repeats the work in the thread pool. Only writes before the block's first
    committed change may refuse, so work that raises it has changed nothing yet and can be
    repeated; later writes of the same block wait as usual (none does on the hot path).
    Writers that do not use ``sqlite_write_transaction`` call
    ``refuse_write_that_would_wait`` first."""
    token = _no_waiting.set(_NoWaiting())
    try:
        yield
    finally:
        _no_waiting.reset(token)


def refuse_write_that_would_wait(what: str) -> None:
    """For a writer that cannot write without waiting (SQLAlchemy's own transactions):
    raise ``SqliteWriteWouldWaitError`` inside ``sqlite_writes_without_waiting`` before
    the block's first commit; do nothing elsewhere."""
    state = _no_waiting.get()
    if state is not None and state.armed:
        raise SqliteWriteWouldWaitError(what)


@contextmanager
def sqlite_write_transaction(engine: Engine, what: str) -> Iterator[sqlite3.Connection]:
    """A write transaction on the driver's own connection, the write lock taken at
    ``BEGIN``: for hot paths, where SQLAlchemy's execution machinery costs several times
    what SQLite does. Rolled back on any exception; driver errors come out as SQLAlchemy's
    (``what`` names the work), as the engine's own would. Inside
    ``sqlite_writes_without_waiting`` it may raise ``SqliteWriteWouldWaitError``."""
    state = _no_waiting.get()
    waits = state is None or not state.armed
    lock = sqlite_writer_lock(engine)
    # The driver's connection without SQLAlchemy's Connection around it (a few µs a
    # call): this thread's own, kept out of the pool, where the engine allows.
    connections = thread_connections(engine)
    pooled = engine.raw_connection() if connections is None else None
    try:
        driver = connections.get() if pooled is None else pooled.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        if waits:
            lock.acquire()
        elif not lock.acquire(timeout=LOOP_WRITE_LOCK_WAIT_SECONDS):
            raise SqliteWriteWouldWaitError(what)
        try:
            _begin_immediate(driver, waits, what, keeps_timeout=pooled is None)
            changes = driver.total_changes
            try:
                yield driver
            except BaseException:
                driver.execute("ROLLBACK")
                raise
            driver.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            _after_driver_error(driver, connections)
            raise IntegrityError(what, None, error) from error
        except sqlite3.Error as error:
            _after_driver_error(driver, connections)
            raise OperationalError(what, None, error) from error
        finally:
            lock.release()
        if state is not None and driver.total_changes != changes:
            state.armed = False  # something is written: repeating the work would repeat it
    finally:
        if pooled is not None:
            pooled.close()  # the pool's return rolls back what a failure left open


def _after_driver_error(driver: sqlite3.Connection, connections: ThreadConnections | None) -> None:
    """Leave no transaction open on a thread's own connection after a failed statement
    (a COMMIT that failed, say): closing it rolls back, and the next use opens anew."""
    if connections is not None and driver.in_transaction:
        connections.drop()


def read_row(
    engine: Engine, sql: str, parameters: Mapping[str, Any], what: str
) -> tuple[Any, ...] | None:
    """The first row of one ``SELECT`` (``:name`` placeholders), as the driver returns it.

    For lookups on hot paths: on SQLite the thread's own driver connection
    (``population_db.sqlite_threads``) is used without SQLAlchemy's pool checkout,
    Connection, statement cache and result objects around it (an ORM ``Session.get`` costs
    several times the query). Elsewhere the same text runs through the engine. Values come
    back as the driver gives them (JSON and timestamps as text on SQLite); driver errors
    come out as SQLAlchemy's, ``what`` naming the lookup."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            row = connection.execute(_text_clause(sql), parameters).first()
        return None if row is None else tuple(row)
    try:
        return fetch_one(engine, sql, parameters)
    except sqlite3.Error as error:
        raise OperationalError(what, None, error) from error


@functools.lru_cache(maxsize=64)
def _text_clause(sql: str) -> TextClause:
    return text(sql)


def _begin_immediate(
    driver: sqlite3.Connection, waits: bool, what: str, *, keeps_timeout: bool = False
) -> None:
    if keeps_timeout and isinstance(driver, _SqliteConnection):
        # A thread's own connection: its timeout is set only when it changes.
        _set_busy_timeout(driver, SQLITE_BUSY_TIMEOUT_MS if waits else 0)
        _begin_or_refuse(driver, waits, what)
        return
    if waits:
        driver.execute("BEGIN IMMEDIATE")
        return
    # Another process holding the lock would keep SQLite's busy handler sleeping here.
    # A pool's connection goes back with the timeout its other users expect.
    driver.execute("PRAGMA busy_timeout=0")
    try:
        _begin_or_refuse(driver, waits, what)
    finally:
        driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _set_busy_timeout(driver: _SqliteConnection, milliseconds: int) -> None:
    if driver.busy_timeout_ms != milliseconds:
        driver.execute(f"PRAGMA busy_timeout={milliseconds}")
        driver.busy_timeout_ms = milliseconds


def _begin_or_refuse(driver: sqlite3.Connection, waits: bool, what: str) -> None:
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        busy = error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        if busy and not waits:
            raise SqliteWriteWouldWaitError(what) from None
        raise


class IdentitySchemaError(IdentityDatabaseError):
    """The identity schema is not at the revision this code needs; the message says why."""


def create_identity_schema(engine: Engine) -> None:
    """Migrate an empty identity database; accept a current one; refuse anything else.

    Safe to call from several processes at once (the migration takes a lock). Raises
    ``IdentitySchemaError`` for an out-of-date, unversioned or unknown schema, and
    ``IdentityDatabaseError`` when the database cannot be reached.
    """
    # Imported here: Alembic is needed only where a schema is prepared, not by every
    # module that declares a table.
    from identity_service.migrations import IDENTITY_HISTORY
    from population_db.migrations.history import SchemaState

    try:
        status = IDENTITY_HISTORY.status(engine)
        if status.state is SchemaState.EMPTY:
            IDENTITY_HISTORY.upgrade(engine)
            return
    except SQLAlchemyError as error:
        raise IdentityDatabaseError(
            f"cannot prepare the identity database: {error.__class__.__name__}: "
            f"{_first_line(error)}"
        ) from error
    problem = status.problem("identity database")
    if problem is not None:
        raise IdentitySchemaError(problem)


def prepare_identity_database(url: str) -> None:
    """``create_identity_schema`` on the database at ``url``, once, before workers start."""
    engine = create_identity_engine(url)
    try:
        create_identity_schema(engine)
    finally:
        engine.dispose()


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
