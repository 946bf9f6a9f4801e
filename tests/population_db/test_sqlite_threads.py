"""thread_connections and fetch_one: each thread keeps one connection of a SQLite file's
engine, out of its pool; closed when the thread ends, when the engine is disposed, or
after an error; never shared with another thread or process; not used for in-memory
databases."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from population_db import sqlite_threads
from population_db.sqlite_threads import fetch_one, kept_per_thread, thread_connections


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'file.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


def _in_thread(work):  # type: ignore[no-untyped-def]
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def _is_closed(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_a_thread_keeps_its_connection_and_the_pool_lends_none(engine: Engine) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    assert thread_connections(engine) is connections  # one per engine
    first = connections.get()
    assert connections.get() is first
    assert first.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_threads_get_connections_of_their_own_closed_when_they_end(engine: Engine) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    mine = connections.get()
    theirs = _in_thread(connections.get)
    assert theirs is not mine
    gc.collect()  # the ended thread's local storage is gone, and its connection with it
    assert _is_closed(theirs)
    assert not _is_closed(mine)


def test_disposing_the_engine_closes_them_and_the_next_get_opens_anew(engine: Engine) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    before = connections.get()
    engine.dispose()
    assert _is_closed(before)
    after = connections.get()
    assert after is not before
    assert after.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_drop_closes_the_callers_connection_rolling_back_what_it_left_open(
    engine: Engine,
) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    broken = connections.get()
    broken.execute("BEGIN IMMEDIATE")
    broken.execute("INSERT INTO t VALUES (1)")
    connections.drop()
    assert _is_closed(broken)
    fresh = connections.get()
    assert fresh.execute("SELECT count(*) FROM t").fetchone() == (0,)
    fresh.execute("BEGIN IMMEDIATE")  # the write lock was released with the closed one
    fresh.execute("ROLLBACK")


def test_a_connection_made_before_a_fork_is_not_the_childs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    parents = connections.get()
    monkeypatch.setattr(sqlite_threads.os, "getpid", lambda: -1)  # as in a forked child
    childs = connections.get()
    assert childs is not parents
    monkeypatch.undo()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_databases_keep_their_one_connection_in_the_pool(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        assert not kept_per_thread(engine)
        assert thread_connections(engine) is None
    finally:
        engine.dispose()


def test_fetch_one_reads_on_the_threads_connection_and_drops_it_after_an_error(
    engine: Engine,
) -> None:
    connections = thread_connections(engine)
    assert connections is not None
    assert fetch_one(engine, "SELECT count(*) FROM t WHERE x > ?", (0,)) == (0,)
    used = connections.get()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        fetch_one(engine, "SELECT * FROM missing", ())
    assert _is_closed(used)
    assert fetch_one(engine, "SELECT count(*) FROM t WHERE x > :x", {"x": 0}) == (0,)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_fetch_one_on_an_in_memory_database_borrows_the_pools_connection() -> None:
    engine = sa.create_engine("sqlite://")
    try:
        assert fetch_one(engine, "SELECT 1 + ?", (1,)) == (2,)
        with pytest.raises(sqlite3.OperationalError):
            fetch_one(engine, "SELECT * FROM missing", ())
        assert fetch_one(engine, "SELECT 2 + ?", (2,)) == (4,)  # the pool's, still open
    finally:
        engine.dispose()
