"""Server-side sessions and CSRF tokens (``portals.common.sessions``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from portals.common.db import create_portal_engine
from portals.common.sessions import SessionStore, session_table
from tests.portals.support import FakeClock


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    created = create_portal_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
    yield created
    created.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> SessionStore:
    sessions = SessionStore(engine, b"session-test-key", ttl=3600, clock=clock)
    sessions.create_schema()
    return sessions


def test_a_session_round_trips_its_data(store: SessionStore) -> None:
    session = store.create({"locale": "en"})
    session.data["identity"] = {"subject": "s", "claims": {"name": "Lê Hoàng Nam"}}
    store.save(session)
    loaded = store.load(session.token)
    assert loaded is not None
    assert loaded.data == {
        "locale": "en",
        "identity": {"subject": "s", "claims": {"name": "Lê Hoàng Nam"}},
    }


def test_the_database_never_holds_the_session_token(store: SessionStore, engine: Engine) -> None:
    session = store.create()
    with engine.connect() as connection:
        stored = connection.execute(select(session_table.c.token_digest)).scalars().all()
    assert stored and session.token not in stored


def test_sessions_expire_and_are_cleared_out(
    store: SessionStore, engine: Engine, clock: FakeClock
) -> None:
    old = store.create()
    clock.advance(3599)
    assert store.load(old.token) is not None
    clock.advance(1)
    assert store.load(old.token) is None
    store.create()  # creating a session purges the expired ones
    with engine.connect() as connection:
        assert len(connection.execute(select(session_table)).all()) == 1


@pytest.mark.parametrize("token", [None, "", "unknown-token", "x" * 10_000])
def test_unknown_or_malformed_tokens_load_nothing(store: SessionStore, token: str | None) -> None:
    store.create()
    assert store.load(token) is None


def test_deleted_sessions_are_gone(store: SessionStore) -> None:
    session = store.create()
    store.delete(session.token)
    assert store.load(session.token) is None


def test_csrf_tokens_belong_to_one_session_and_one_key(
    store: SessionStore, engine: Engine, clock: FakeClock
) -> None:
    first, second = store.create(), store.create()
    token = store.csrf_token(first)
    assert store.csrf_matches(first, token)
    assert not store.csrf_matches(second, token)
    assert not store.csrf_matches(first, "")
    other_key = SessionStore(engine, b"another-key", ttl=3600, clock=clock)
    assert not other_key.csrf_matches(first, token)
