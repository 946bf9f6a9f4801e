"""The refresh token table itself, on SQLite and on PostgreSQL: issue, look up, rotate,
refresh in place and revoke, and of concurrent uses of one token exactly one wins.

The grant's rules are tested through the token endpoint (``test_refresh.py``); these
tests hold the storage to the same rules on both databases it runs on.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.refresh_tokens import (
    PURGE_INTERVAL_SECONDS,
    RefreshGrant,
    RefreshTokenRecord,
    RefreshTokens,
    new_family_id,
)
from identity_service.state import MemoryStateStore
from tests.identity_service.conftest import identity_database
from tests.population_db.conftest import BACKENDS

CLIENT = "portal-a"
NOW = 1_900_000_000


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with identity_database(request.param, tmp_path) as engine:
        yield engine


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: Engine, clock: Clock) -> RefreshTokens:
    return RefreshTokens(
        engine,
        b"s" * 32,
        access_tokens=AccessTokenRecords(MemoryStateStore()),
        access_token_ttl=600,
        ttl=3600,
        clock=clock,
    )


def issue(store: RefreshTokens, family_id: str | None = None, dpop_jkt: str | None = None) -> str:
    return store.issue(
        family_id=family_id or new_family_id(),
        client_id=CLIENT,
        personal_id_number="001200000001",
        scopes=("openid", "profile", "offline_access"),
        acr="urn:natid:loa:1",
        amr=("pwd",),
        auth_time=NOW - 5,
        sid="sid-1",
        access_token_jti="jti-0",
        dpop_jkt=dpop_jkt,
    )


def test_a_rotated_token_is_spent_and_its_successor_carries_the_grant(
    store: RefreshTokens,
) -> None:
    token = issue(store, dpop_jkt="thumbprint")
    first = store.lookup(token)
    assert first is not None and first.usable

    rotated = store.rotate(token, client_id=CLIENT, access_token_jti="jti-1")

    assert rotated is not None
    successor, grant = rotated
    assert successor != token
    assert grant == first.grant
    spent = store.lookup(token)
    assert spent is not None and spent.used and not spent.revoked
    after = store.lookup(successor)
    assert after is not None and after.usable
    assert after.grant.scopes == ("openid", "profile", "offline_access")
    assert after.grant.amr == ("pwd",)
    assert after.grant.dpop_jkt == "thumbprint"
    assert after.grant.expires_at == first.grant.expires_at  # rotation does not extend it
    assert store.rotate(token, client_id=CLIENT, access_token_jti="jti-2") is None


def test_rotation_refuses_another_client_an_expired_and_a_revoked_token(
    store: RefreshTokens, clock: Clock
) -> None:
    token = issue(store)
    assert store.rotate(token, client_id="portal-b", access_token_jti="j") is None
    stored = store.lookup(token)
    assert stored is not None and stored.usable  # the owner's token is not burned

    revoked = issue(store)
    family = store.lookup(revoked)
    assert family is not None
    store.revoke_family(family.grant.family_id)
    assert store.rotate(revoked, client_id=CLIENT, access_token_jti="j") is None

    clock.now += 3600
    assert store.rotate(token, client_id=CLIENT, access_token_jti="j") is None
    expired = store.lookup(token)
    assert expired is not None and expired.expired and not expired.used


def test_unknown_and_implausible_tokens_find_nothing(store: RefreshTokens) -> None:
    for token in ("", "x" * 129, secrets.token_urlsafe(32), "' OR 1=1 --"):
        assert store.lookup(token) is None
        assert store.rotate(token, client_id=CLIENT, access_token_jti="j") is None
        assert store.refresh_in_place(token, client_id=CLIENT, access_token_jti="j") is None


def test_refresh_in_place_keeps_the_token_and_tracks_each_access_token(
    store: RefreshTokens, engine: Engine
) -> None:
    token = issue(store)
    for jti in ("jti-1", "jti-2"):
        grant = store.refresh_in_place(token, client_id=CLIENT, access_token_jti=jti)
        assert grant is not None and grant.client_id == CLIENT
    stored = store.lookup(token)
    assert stored is not None and stored.usable
    assert store.refresh_in_place(token, client_id="portal-b", access_token_jti="j") is None
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(RefreshTokenRecord)).scalar()
    assert rows == 3  # the token and one spent tracking row per access token
    assert store.revoke_family(stored.grant.family_id) == 3  # jti-0, jti-1, jti-2


def test_of_concurrent_rotations_of_one_token_exactly_one_wins(store: RefreshTokens) -> None:
    token = issue(store)
    start = threading.Barrier(8)
    results: list[object] = []

    def use() -> None:
        start.wait()
        results.append(store.rotate(token, client_id=CLIENT, access_token_jti="j"))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result is not None for result in results) == 1


def test_expired_families_are_purged_an_hour_apart_in_a_thread_of_their_own(
    store: RefreshTokens, engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rows() -> int:
        with engine.connect() as connection:
            count = select(func.count()).select_from(RefreshTokenRecord)
            return connection.execute(count).scalar_one()

    purges: list[threading.Thread] = []
    delete_expired = store.delete_expired

    def recorded() -> int:
        purges.append(threading.current_thread())
        return delete_expired()

    monkeypatch.setattr(store, "delete_expired", recorded)

    def wait_for_purges(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(purges) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        for thread in purges:
            thread.join(timeout=5)

    issue(store)  # the first issue of a process starts a purge: nothing has expired yet
    wait_for_purges(1)
    assert rows() == 1

    clock.now += 3600 + PURGE_INTERVAL_SECONDS  # the first family expired an hour ago
    issue(store)
    wait_for_purges(2)
    assert rows() == 1
    # Never the issuing call's thread: it may be the event loop's.
    assert [thread.name for thread in purges] == ["natid-refresh-purge"] * 2

    clock.now += 60  # within the hour: no other purge
    issue(store)
    time.sleep(0.05)
    assert len(purges) == 2


def test_a_rotation_its_admit_check_refuses_changes_nothing(
    store: RefreshTokens, engine: Engine
) -> None:
    token = issue(store, dpop_jkt="thumbprint")
    seen: list[str | None] = []

    def refuse(grant: RefreshGrant) -> None:
        seen.append(grant.dpop_jkt)
        raise PermissionError("the request's own check failed")

    with pytest.raises(PermissionError):
        store.rotate(token, client_id=CLIENT, access_token_jti="j", admit=refuse)
    assert seen == ["thumbprint"]  # given the token's grant
    stored = store.lookup(token)
    assert stored is not None and stored.usable
    with engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(RefreshTokenRecord)).scalar() == 1
        )
    # The refused request spent nothing: the token rotates once the check passes.
    assert store.rotate(token, client_id=CLIENT, access_token_jti="j", admit=seen.append)
    assert len(seen) == 2
