"""The identity database's SQLite connections: their settings, and the write transaction
the hot paths run on the driver's connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from identity_service import db


def test_sqlite_connections_use_wal_normal_sync_busy_timeout_foreign_keys_small_cache(
    tmp_path: Path,
) -> None:
    engine = db.create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "busy_timeout",
                    "foreign_keys",
                    "cache_size",
                )
            }
    finally:
        engine.dispose()
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
