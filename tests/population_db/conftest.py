"""Fixtures for population database tests: empty and seeded databases on each backend.

SQLite always (a file in tmp_path); PostgreSQL when ``NATID_TEST_POSTGRES_URL`` is set, in
a private database created for the fixture and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from population_db.loader import seed_population

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SEEDED_CITIZENS = 1_500
SEEDED_SEED = 20250701
SEEDED_BATCH_SIZE = 400  # several batches: exercises the worker process


@contextmanager
def private_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on exit."""
    admin_url = os.environ.get("NATID_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("NATID_TEST_POSTGRES_URL is not set")
    import psycopg

    name = f"natid_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'population.db'}"
    else:
        with private_postgres_database() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty population database (not yet created) on each backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def seeded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A seeded population shared by the read-only tests of a module."""
    with empty_database(request.param, tmp_path_factory.mktemp("seeded")) as url:
        seed_population(url, SEEDED_CITIZENS, SEEDED_SEED, batch_size=SEEDED_BATCH_SIZE)
        yield url
