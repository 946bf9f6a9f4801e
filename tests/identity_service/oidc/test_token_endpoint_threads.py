"""Where the token endpoint's grants run: the event loop or the thread pool.

With local storage (SQLite, in-process state) a grant that touches only memory runs on
the event loop (a thread hand-off is the largest cost of a code exchange after the
signatures), and so does a refresh, whose one write never waits there: when SQLite's
write lock is taken it goes to the thread pool instead, having written nothing. The
other grants that write the database never run on the loop, since a write may wait for
the lock and would stall every request meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.oidc.lifecycle_support import citizen_tokens, refresh
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    basic_auth,
    obtain_code,
    raw_request,
)
from tests.identity_service.sqlite_locks import HOLDERS, write_lock_held

pytestmark = pytest.mark.anyio

_WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def writes_on_loop(services: IdentityServices) -> Iterator[list[str]]:
    """The identity database's writes made on this (the event loop's) thread."""
    loop_thread = threading.get_ident()
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == loop_thread and statement.lstrip().startswith(_WRITES):
            seen.append(statement.split("(")[0][:60])

    event.listen(services.identity_engine, "before_cursor_execute", record)
    yield seen
    event.remove(services.identity_engine, "before_cursor_execute", record)


def _threads_of(grant: Any, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each call of ``grant.exchange``, whether it ran on the event loop's thread."""
    loop_thread = threading.get_ident()
    on_loop: list[bool] = []
    original = grant.exchange

    def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
        on_loop.append(threading.get_ident() == loop_thread)
        return original(*args, **kwargs)

    monkeypatch.setattr(grant, "exchange", recorded)
    return on_loop


@pytest.fixture
def exchange_threads(services: IdentityServices, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each code exchange, whether it ran on the event loop's thread."""
    return _threads_of(services.code_grant, monkeypatch)


@pytest.fixture
def refresh_threads(services: IdentityServices, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each refresh grant run, whether it ran on the event loop's thread."""
    return _threads_of(services.refresh_grant, monkeypatch)


async def test_a_code_exchange_without_offline_access_runs_on_the_loop_with_local_storage(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    exchange_threads: list[bool],
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    assert "id_token" in tokens and "refresh_token" not in tokens
    # With the state in Redis every grant waits on the network: the thread pool.
    assert exchange_threads == [services.local_storage]


async def test_code_exchanges_that_write_the_database_never_run_on_the_event_loop(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    writes_on_loop: list[str],
    exchange_threads: list[bool],
) -> None:
    # A code exchange that stores a refresh token, and a replay that revokes its family.
    request = raw_request(scope="openid profile offline_access")
    code = await obtain_code(browser, request, demo[1].personal_id_number, demo[1].password)
    redemption = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.params["redirect_uri"],
        "code_verifier": request.code_verifier,
    }
    auth = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    assert (await http.post("/token", data=redemption, headers=auth)).status_code == 200
    assert (await http.post("/token", data=redemption, headers=auth)).status_code == 400

    assert exchange_threads == [False, False]
    assert writes_on_loop == []


async def test_a_refresh_runs_on_the_loop_and_a_reuse_revokes_the_family_from_the_pool(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    writes_on_loop: list[str],
    refresh_threads: list[bool],
) -> None:
    first = await citizen_tokens(http, browser, demo[1])
    rotated = await refresh(http, first["refresh_token"])
    assert rotated.status_code == 200
    # The reuse's revocation is an ORM transaction, which cannot refuse to wait: the
    # grant goes to the thread pool before it writes anything.
    reused = await refresh(http, first["refresh_token"])
    assert reused.status_code == 400
    assert (await refresh(http, rotated.json()["refresh_token"])).status_code == 400  # revoked

    local = services.local_storage
    # The first rotation may find SQLite's write lock held past the loop's short wait
    # (another writer's commit on a busy machine: about one run in twenty here) and then
    # goes to the pool, as the next test has it do on purpose; the reuse always does.
    on_loop, fell_back = [True, True, False, True], [True, False, True, False, True]
    if local:
        assert refresh_threads in (on_loop, fell_back)
    else:
        assert refresh_threads == [False] * 3
    assert writes_on_loop == []


async def _refresh_while_the_write_lock_is_held(
    http: httpx.AsyncClient, refresh_token: str, refresh_threads: list[bool]
) -> asyncio.Task[httpx.Response]:
    """Start a refresh while the caller holds the write lock; return once its grant is
    repeated in the thread pool (the loop is free meanwhile: this polling runs on it)."""
    pending = asyncio.create_task(refresh(http, refresh_token))
    deadline = time.monotonic() + 5
    while False not in refresh_threads and time.monotonic() < deadline and not pending.done():
        await asyncio.sleep(0.005)
    assert refresh_threads[:2] == [True, False], "the refresh did not leave the loop"
    assert not pending.done()
    return pending


@pytest.mark.parametrize("holder", HOLDERS)
async def test_a_refresh_that_finds_the_write_lock_taken_goes_to_the_thread_pool(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    refresh_threads: list[bool],
    holder: str,
) -> None:
    if not services.local_storage:
        pytest.skip("with the state store on the network every refresh runs in the pool")
    first = await citizen_tokens(http, browser, demo[1])
    with write_lock_held(services.identity_engine, holder):
        pending = await _refresh_while_the_write_lock_is_held(
            http, first["refresh_token"], refresh_threads
        )
    rotated = await pending
    assert rotated.status_code == 200
    assert refresh_threads[:2] == [True, False]
    assert (await refresh(http, rotated.json()["refresh_token"])).status_code == 200
