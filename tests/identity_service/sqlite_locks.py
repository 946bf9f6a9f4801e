"""Holding an SQLite database's write lock, as this process's other writer or another
process would, for tests of what the writers that must not wait do meanwhile."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from identity_service.db import sqlite_writer_lock

HOLDERS = ("this process", "another process")


@contextmanager
def write_lock_held(engine: Engine, holder: str) -> Iterator[None]:
    """``engine``'s write lock held by ``holder`` (one of ``HOLDERS``) inside the block:
    this process's writer lock (as the audit writer's thread holds it while it commits a
    batch), or SQLite's own from another connection (as a CLI command writing the same
    file would)."""
    if holder == "this process":
        lock = sqlite_writer_lock(engine)
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
        return
    other = sqlite3.connect(engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
