"""use_wal: a connection opening a fresh SQLite file while another holds it still ends
in WAL mode, instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from population_db.sqlite_wal import use_wal


def _holder(path: Path) -> sqlite3.Connection:
    # A rollback-journal connection holding the exclusive lock: what a second worker
    # meets while the first is switching the fresh file or migrating it.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("CREATE TABLE t (x)")
    connection.execute("BEGIN EXCLUSIVE")
    return connection


def test_the_switch_waits_for_a_lock_held_by_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    holder = _holder(path)
    opener = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        opener.execute("PRAGMA journal_mode=WAL")  # the plain pragma gives up at once

    release = threading.Timer(0.3, holder.commit)
    release.start()
    try:
        use_wal(opener)
    finally:
        release.join()
    assert opener.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    opener.close()
    holder.close()


def test_a_lock_never_released_still_fails_after_the_wait(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    holder = _holder(path)
    opener = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(opener, wait_s=0.2)
    opener.close()
    holder.close()
