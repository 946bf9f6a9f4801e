"""Switching a SQLite connection to write-ahead logging, even while others open the file.

Every natid SQLite database runs in WAL mode, set by ``PRAGMA journal_mode=WAL`` as each
connection opens. Switching a file that is not yet in WAL mode needs an exclusive lock,
and SQLite refuses at once ("database is locked", without its busy handler) when
connections opening a fresh file together would otherwise wait on each other: several
workers starting on one new database lose a connection that way. ``use_wal`` retries.
Lives in ``population_db``, the lowest layer, so the identity database shares it.
"""

from __future__ import annotations

import sqlite3
import time

#: How long a connection keeps trying before the "database is locked" error stands.
WAL_SWITCH_WAIT_S = 10.0


def use_wal(dbapi_connection: sqlite3.Connection, *, wait_s: float = WAL_SWITCH_WAIT_S) -> None:
    """Put ``dbapi_connection``'s database in WAL mode, retrying while it is locked."""
    deadline = time.monotonic() + wait_s
    delay_s = 0.002
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL").close()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay_s > deadline:
                raise
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, 0.1)
