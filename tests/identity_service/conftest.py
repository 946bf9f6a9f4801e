"""Shared fixtures for identity service tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from identity_service.db import create_identity_engine, create_identity_schema
from tests.population_db.conftest import empty_database


@pytest.fixture
def clean_natid_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the developer's NATID_* settings (keeps NATID_TEST_* service URLs)."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def identity_file_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh identity database file (the schema made), disposed after."""
    engine = create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    create_identity_schema(engine)
    yield engine
    engine.dispose()


@contextmanager
def identity_database(backend: str, directory: Path) -> Iterator[Engine]:
    """An engine on a fresh identity database on ``backend`` (``sqlite``: a file in
    ``directory``; ``postgresql``: a private database), the schema made, disposed after."""
    with empty_database(backend, directory) as url:
        engine = create_identity_engine(url)
        try:
            create_identity_schema(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    """``identity_database`` on PostgreSQL; skipped without ``NATID_TEST_POSTGRES_URL``."""
    with identity_database("postgresql", tmp_path) as engine:
        yield engine
