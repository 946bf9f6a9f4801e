"""Shared fixtures for identity service tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from identity_service.db import create_identity_engine, create_identity_schema


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


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL identity database (the schema made), dropped after;
    skipped without ``NATID_TEST_POSTGRES_URL``."""
    admin_url = os.environ.get("NATID_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("NATID_TEST_POSTGRES_URL is not set")
    import psycopg

    name = f"natid_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_identity_engine(make_url(admin_url).set(database=name).render_as_string(False))
    try:
        create_identity_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
