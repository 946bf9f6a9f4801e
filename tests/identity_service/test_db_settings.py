"""The identity database's SQLite connections: their settings, and the write transaction
the hot paths run on the driver's connection."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from identity_service import db
from population_db.sqlite_threads import thread_connections
from tests.identity_service.sqlite_locks import HOLDERS, write_lock_held
from tests.sqlite_settings import connection_settings


def test_sqlite_connections_use_wal_normal_sync_busy_timeout_foreign_keys_small_cache(
    tmp_path: Path,
) -> None:
    pragma = connection_settings(db.create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}"))
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": db.SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
        "cache_size": -db.SQLITE_CACHE_KIB,  # negative: KiB, not pages
    }


def test_writers_to_one_engine_share_one_lock_and_a_failed_transaction_leaves_nothing(
    tmp_path: Path,
) -> None:
    engine = db.create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    other = db.create_identity_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert db.sqlite_writer_lock(engine) is db.sqlite_writer_lock(engine)
        assert db.sqlite_writer_lock(engine) is not db.sqlite_writer_lock(other)
        with db.sqlite_write_transaction(engine, "setup") as driver:
            driver.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        with (
            pytest.raises(RuntimeError),
            db.sqlite_write_transaction(engine, "insert then fail") as driver,
        ):
            driver.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("the caller's own failure")
        with (
            pytest.raises(IntegrityError, match="duplicate key"),
            db.sqlite_write_transaction(engine, "duplicate key") as driver,
        ):
            driver.execute("INSERT INTO t VALUES (2)")
            driver.execute("INSERT INTO t VALUES (2)")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        assert not db.sqlite_writer_lock(engine).locked()
    finally:
        engine.dispose()
        other.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    with db.sqlite_write_transaction(engine, "setup") as driver:
        driver.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one()


@pytest.mark.parametrize("holder", HOLDERS)
def test_without_waiting_a_write_refuses_at_once_while_the_lock_is_held(
    sqlite_engine: Engine, holder: str
) -> None:
    with write_lock_held(sqlite_engine, holder):
        started = time.monotonic()
        with (
            pytest.raises(db.SqliteWriteWouldWaitError),
            db.sqlite_writes_without_waiting(),
            db.sqlite_write_transaction(sqlite_engine, "insert") as driver,
        ):
            driver.execute("INSERT INTO t VALUES (1)")
        assert time.monotonic() - started < 1  # not the 5 s busy timeout
    assert _rows(sqlite_engine) == 0
    with sqlite_engine.connect() as connection:  # the pooled connection waits again
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == (
            db.SQLITE_BUSY_TIMEOUT_MS
        )
    # Once the lock is free the same write succeeds.
    with db.sqlite_write_transaction(sqlite_engine, "insert") as driver:
        driver.execute("INSERT INTO t VALUES (1)")
    assert _rows(sqlite_engine) == 1
    assert not db.sqlite_writer_lock(sqlite_engine).locked()


def test_without_waiting_only_the_first_write_may_refuse(sqlite_engine: Engine) -> None:
    with db.sqlite_writes_without_waiting():
        with pytest.raises(db.SqliteWriteWouldWaitError):
            db.refuse_write_that_would_wait("an ORM write")
        with db.sqlite_write_transaction(sqlite_engine, "first") as driver:
            driver.execute("INSERT INTO t VALUES (1)")
        # Something is committed now: repeating the work elsewhere would repeat that, so
        # later writes wait as usual.
        db.refuse_write_that_would_wait("an ORM write")
        lock = db.sqlite_writer_lock(sqlite_engine)
        lock.acquire()
        threading.Timer(0.05, lock.release).start()
        with db.sqlite_write_transaction(sqlite_engine, "second") as driver:
            driver.execute("INSERT INTO t VALUES (2)")
    db.refuse_write_that_would_wait("outside the block")  # never refuses out here
    assert _rows(sqlite_engine) == 2


def test_without_waiting_a_transaction_that_changed_nothing_leaves_later_writes_refusing(
    sqlite_engine: Engine,
) -> None:
    with db.sqlite_writes_without_waiting():
        with db.sqlite_write_transaction(sqlite_engine, "no match") as driver:
            driver.execute("UPDATE t SET k = 5 WHERE k = 4")  # no such row
        with pytest.raises(db.SqliteWriteWouldWaitError):
            db.refuse_write_that_would_wait("an ORM write")


def test_hot_reads_and_writes_take_no_pool_connection_and_a_failed_commit_leaves_none_open(
    sqlite_engine: Engine,
) -> None:
    with db.sqlite_write_transaction(sqlite_engine, "deferred check") as driver:
        driver.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        driver.execute(
            "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
            "DEFERRABLE INITIALLY DEFERRED)"
        )
    assert db.read_row(sqlite_engine, "SELECT count(*) FROM t WHERE k > :k", {"k": 0}, "x") == (0,)
    assert sqlite_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # A deferred foreign key fails at COMMIT: the transaction is still open on the
    # thread's connection then, and must not stay so (it would hold the write lock).
    with (
        pytest.raises(IntegrityError, match="commit fails"),
        db.sqlite_write_transaction(sqlite_engine, "commit fails") as driver,
    ):
        driver.execute("INSERT INTO t VALUES (7)")
        driver.execute("INSERT INTO child VALUES (42)")
    with db.sqlite_write_transaction(sqlite_engine, "after") as driver:
        driver.execute("INSERT INTO t VALUES (8)")
    assert _rows(sqlite_engine) == 1
    other = db.create_identity_engine(str(sqlite_engine.url))
    try:  # another connection can take the write lock: nothing was left holding it
        with db.sqlite_writes_without_waiting(), db.sqlite_write_transaction(other, "o") as d:
            d.execute("INSERT INTO t VALUES (9)")
    finally:
        other.dispose()


def _statements_of_writes(engine: Engine, waits: list[bool], first: int = 0) -> list[str]:
    """The statements this thread's connection runs for one write per entry of
    ``waits`` (False: inside ``sqlite_writes_without_waiting``), inserting ``first``, ``first
    + 1``, ..."""
    statements: list[str] = []
    own = thread_connections(engine)
    assert own is not None
    own.get().set_trace_callback(statements.append)
    try:
        for number, may_wait in enumerate(waits, start=first):
            block = contextlib.nullcontext() if may_wait else db.sqlite_writes_without_waiting()
            with block, db.sqlite_write_transaction(engine, "insert") as driver:
                driver.execute("INSERT INTO t VALUES (?)", (number,))
    finally:
        own.get().set_trace_callback(None)
    return statements


def test_a_threads_own_connection_sets_its_busy_timeout_only_when_it_changes(
    sqlite_engine: Engine,
) -> None:
    statements = _statements_of_writes(sqlite_engine, [False, False, False, True, True, False])
    timeouts = [statement for statement in statements if "busy_timeout" in statement]
    assert timeouts == [
        "PRAGMA busy_timeout=0",
        f"PRAGMA busy_timeout={db.SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA busy_timeout=0",
    ]
    assert _rows(sqlite_engine) == 6


def test_a_write_that_may_wait_waits_again_after_one_that_must_not(
    sqlite_engine: Engine,
) -> None:
    holder = db.create_identity_engine(str(sqlite_engine.url))
    try:
        with (
            write_lock_held(holder, "another process"),
            pytest.raises(db.SqliteWriteWouldWaitError),  # at 0 now, and refused
        ):
            _statements_of_writes(sqlite_engine, [False])
        held = threading.Event()

        def hold_briefly() -> None:
            with write_lock_held(holder, "another process"):
                held.set()
                time.sleep(0.3)

        other = threading.Thread(target=hold_briefly)
        other.start()
        assert held.wait(5)
        started = time.monotonic()
        _statements_of_writes(sqlite_engine, [True], first=1)  # same thread: waits, writes
        assert time.monotonic() - started >= 0.2
        other.join(5)
    finally:
        holder.dispose()
    assert _rows(sqlite_engine) == 1
