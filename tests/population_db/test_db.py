"""Engine creation, URL checks and the population schema (population_db.db)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from population_db import db, units
from tests.sqlite_settings import connection_settings


def _engine(url: str, **options: bool) -> sa.Engine:
    return db.create_population_engine(url, **options)


def test_creates_a_missing_data_directory_for_a_new_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / "population.db"
    engine = _engine(f"sqlite:///{path}", create=True)
    try:
        db.create_population_schema(engine)
    finally:
        engine.dispose()
    assert path.is_file()


def test_sqlite_connections_use_wal_normal_sync_busy_timeout_no_foreign_keys_small_cache(
    tmp_path: Path,
) -> None:
    pragma = connection_settings(_engine(f"sqlite:///{tmp_path / 'p.db'}", create=True))
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": db.SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 0,
        "cache_size": -db.SQLITE_READER_CACHE_KIB,  # negative: KiB, not pages
    }


def test_a_missing_sqlite_file_is_an_error_unless_creating(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(db.PopulationDatabaseError, match="no population database") as caught:
        _engine(f"sqlite:///{path}")
    assert "\n" not in str(caught.value)
    assert not path.exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "not a valid database URL"),
        ("", "not a valid database URL"),
        ("mysql://user@host/db", "unsupported database URL scheme 'mysql'"),
        ("postgresql+psycopg2://user@host/db", "unsupported database URL scheme"),
        ("sqlite://", "in-memory SQLite"),
        ("sqlite:///:memory:", "in-memory SQLite"),
        ("postgresql://user:s3cret@host:notaport/db", "not a valid database URL"),
    ],
)
def test_bad_urls_give_a_one_line_error(url: str, expected: str) -> None:
    with pytest.raises(db.PopulationDatabaseError, match=expected) as caught:
        _engine(url)
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cret" not in message


def test_an_unreachable_postgresql_server_is_a_one_line_error_without_the_password() -> None:
    # Port 1 on the loopback interface refuses connections at once.
    with pytest.raises(db.PopulationDatabaseError, match="cannot open") as caught:
        _engine("postgresql://natid:s3cret@127.0.0.1:1/population")
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cret" not in message
    assert "127.0.0.1" in message


def test_a_data_directory_that_cannot_be_made_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(db.PopulationDatabaseError, match="cannot create the data directory"):
        _engine(f"sqlite:///{blocker / 'data' / 'population.db'}", create=True)


def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "population.db"
    path.write_bytes(b"this is a text file, not an SQLite database" * 100)
    with pytest.raises(db.PopulationDatabaseError, match="cannot open") as caught:
        _engine(f"sqlite:///{path}")
    assert "\n" not in str(caught.value)


def test_schema_holds_only_population_tables_and_the_reference_units(database_url: str) -> None:
    engine = _engine(database_url, create=True)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE other_service_table (id INTEGER)")
        db.create_population_schema(engine)
        db.create_population_schema(engine)  # idempotent: no duplicate reference rows
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            provinces = connection.execute(sa.select(db.PROVINCE_TABLE)).all()
            unit_count = connection.execute(
                sa.select(sa.func.count()).select_from(db.ADMIN_UNIT_TABLE)
            ).scalar_one()
        assert db.has_population_schema(engine)
        db.drop_population_data(engine)
        tables_after_drop = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    population = {"province", "admin_unit", "household", "citizen", "seed_run"}
    # The population's schema version is kept in a table of its own, dropped with it.
    version = {"alembic_version_population"}
    assert tables == population | version | {"other_service_table"}
    assert tables_after_drop == {"other_service_table"}
    assert unit_count == len(units.units()) == 34
    assert len(provinces) == len(units.provinces()) == 63
    assert {(row.code, row.name, row.unit_code) for row in provinces} == {
        (p.code, p.name, p.unit_code) for p in units.provinces()
    }


def test_postgresql_urls_use_psycopg_3(database_url: str) -> None:
    engine = _engine(database_url, create=True)
    try:
        assert engine.dialect.driver in ("psycopg", "pysqlite")
        assert (engine.dialect.name == "postgresql") == database_url.startswith("postgresql")
    finally:
        engine.dispose()


def test_a_database_without_population_tables_is_refused_for_reading(database_url: str) -> None:
    engine = _engine(database_url, create=True)
    try:
        with pytest.raises(db.PopulationDatabaseError, match="holds no population"):
            db.require_population_schema(engine)
    finally:
        engine.dispose()
