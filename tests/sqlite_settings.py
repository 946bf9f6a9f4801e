"""What an engine's SQLite connections are set to, for the tests of both databases'
connection settings."""

from __future__ import annotations

from sqlalchemy import Engine

SETTINGS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "cache_size")


def connection_settings(engine: Engine) -> dict[str, object]:
    """The ``SETTINGS`` pragmas of a new connection of ``engine``, which is disposed after."""
    try:
        with engine.connect() as connection:
            return {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SETTINGS
            }
    finally:
        engine.dispose()
