"""Each thread's own SQLite driver connection of an engine, kept out of the engine's pool.

A pool checkout and return cost more than a one-row SQLite read (about 35 of 44 µs on
these machines, the return's reset included): hot lookups and the audit log's group
commits take a connection this way instead. ``thread_connections(engine).get()`` gives
the calling thread its connection, made by the engine (its ``connect`` settings applied)
and then detached from the pool. Only that thread's ``threading.local`` holds it, so it
is closed when the thread ends (a server's thread pool retires idle threads all day); a
connection is never used in another process than the one that made it (after a fork the
child makes its own); ``close_all`` (also run when the engine is disposed) closes every
one, and each thread makes a new one at its next ``get``. After a driver error, ``drop``
closes the calling thread's connection, which rolls back whatever it had open.
``fetch_one`` is the one-row read both the registry and the identity database's hot
lookups make this way.

Lives in ``population_db``, the lowest layer, so the identity database shares it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


class ThreadConnections:
    """The threads' own connections of one file-backed SQLite engine (see the module)."""

    def __init__(self, engine: Engine) -> None:
        if not kept_per_thread(engine):
            raise ValueError("per-thread connections need a file-backed SQLite engine's pool")
        # Weak: a registry of these keyed by engine must not keep the engine alive.
        self._engine = weakref.ref(engine)
        self._local = threading.local()
        self._live: weakref.WeakSet[_OwnConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._generation = 0
        sa.event.listen(engine, "engine_disposed", self._on_dispose)

    def get(self) -> sqlite3.Connection:
        """The calling thread's connection, made on its first call."""
        own: _OwnConnection | None = getattr(self._local, "connection", None)
        if own is None or own.generation != self._generation or own.pid != os.getpid():
            engine = self._engine()
            if engine is None:
                raise RuntimeError("the engine of these connections is gone")
            pooled = engine.raw_connection()
            connection = pooled.driver_connection
            pooled.detach()  # no longer the pool's: it stays with this thread
            assert isinstance(connection, sqlite3.Connection)
            own = _OwnConnection(connection, self._generation)
            with self._lock:
                self._live.add(own)
            self._local.connection = own
        return own.connection

    def drop(self) -> None:
        """Close the calling thread's connection (after an error); the next ``get`` opens
        a fresh one."""
        own: _OwnConnection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if own is not None:
            with self._lock:
                self._live.discard(own)
            own.close()

    def close_all(self) -> None:
        """Close every live thread's connection; each thread makes a new one at its next
        ``get``."""
        with self._lock:
            owned = list(self._live)
            self._live.clear()
            self._generation += 1
        for own in owned:
            if own.pid == os.getpid():  # a parent's, inherited by fork, is the parent's
                own.close()

    def _on_dispose(self, _engine: Engine) -> None:
        self.close_all()


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, ThreadConnections] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def thread_connections(engine: Engine) -> ThreadConnections | None:
    """The one ``ThreadConnections`` of ``engine`` in this process, or None when its
    connections cannot be kept per thread (``kept_per_thread``)."""
    connections = _BY_ENGINE.get(engine)  # every hot read and write asks: no lock then
    if connections is not None:
        return connections
    if not kept_per_thread(engine):
        return None
    with _BY_ENGINE_LOCK:
        connections = _BY_ENGINE.get(engine)
        if connections is None:
            connections = _BY_ENGINE[engine] = ThreadConnections(engine)
        return connections


def fetch_one(
    engine: Engine, sql: str, parameters: Sequence[Any] | Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of one statement, on the calling thread's connection where the
    engine allows (``thread_connections``), else on the pool's (an in-memory database),
    as the driver returns it. A driver error is raised as it came, the thread's
    connection closed first (the next read opens a fresh one)."""
    connections = thread_connections(engine)
    if connections is None:
        pooled = engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            return driver.execute(sql, parameters).fetchone()  # type: ignore[no-any-return]
        finally:
            pooled.close()
    try:
        return connections.get().execute(sql, parameters).fetchone()  # type: ignore[no-any-return]
    except sqlite3.Error:
        connections.drop()
        raise


def kept_per_thread(engine: Engine) -> bool:
    """Whether ``engine``'s connections can be kept per thread: a SQLite file behind a
    queue pool (an in-memory database or a static pool shares one connection, which must
    not be taken out of the pool)."""
    database = engine.url.database
    return (
        engine.dialect.name == "sqlite"
        and isinstance(engine.pool, QueuePool)
        and bool(database)
        and database != ":memory:"
        and not str(database).startswith("file:")
    )


class _OwnConnection:
    """One thread's connection. Only that thread's ``threading.local`` holds it (the set
    of live ones is weak), so when the thread ends it is closed with it instead of staying
    open, page cache and file handles, for the life of the process."""

    __slots__ = ("__weakref__", "connection", "generation", "pid")

    def __init__(self, connection: sqlite3.Connection, generation: int) -> None:
        self.connection = connection
        self.generation = generation
        self.pid = os.getpid()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.connection.close()

    def __del__(self) -> None:
        if self.pid == os.getpid():
            self.close()
