"""Where the token endpoint's grants run: the event loop or the thread pool.

With local storage (SQLite, in-process state) a grant that touches only memory runs on
the event loop (a thread hand-off is the largest cost of a code exchange after the
signatures); one that writes the database never does, since a write may wait for
SQLite's lock and would stall every request meanwhile.
"""

from __future__ import annotations

import threading
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


@pytest.fixture
def exchange_threads(services: IdentityServices, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each code exchange, whether it ran on the event loop's thread."""
    loop_thread = threading.get_ident()
    on_loop: list[bool] = []
    grant = services.code_grant
    original = grant.exchange

    def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
        on_loop.append(threading.get_ident() == loop_thread)
        return original(*args, **kwargs)

    monkeypatch.setattr(grant, "exchange", recorded)
    return on_loop


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


async def test_grants_that_write_the_database_never_write_on_the_event_loop(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    writes_on_loop: list[str],
    exchange_threads: list[bool],
) -> None:
    # A code exchange that stores a refresh token, its rotation, and a reuse that revokes
    # the family.
    first = await citizen_tokens(http, browser, demo[1])
    rotated = await refresh(http, first["refresh_token"])
    assert rotated.status_code == 200
    assert (await refresh(http, first["refresh_token"])).status_code == 400
    # A replayed offline_access code revokes its family from the thread pool as well.
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

    assert exchange_threads == [False, False, False]
    assert writes_on_loop == []
