"""The settings every identity-database SQLite connection gets from the engine."""

from __future__ import annotations

from pathlib import Path

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
