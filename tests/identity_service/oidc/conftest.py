"""Fixtures: a small seeded population, an identity database with keys, the app in-process.

The population and an identity database holding signing keys are built once per session;
every test gets its own copy of the identity database, its own memory state store, a
fake clock and a fresh app, so tests never share sessions, consents or counters.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.config import IdentitySettings
from identity_service.state import MemoryStateStore, StateStore
from tests.identity_service.oidc.environment import (
    REDIS_URL_VARIABLE,
    close_app,
    demo_accounts,
    make_app,
    make_identity_template,
    make_settings,
    redis_state_store,
    seed_test_population,
)
from tests.identity_service.oidc.support import ISSUER, Browser, FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must never pick up the developer's NATID_* variables."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def population_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed_test_population(tmp_path_factory.mktemp("population"))


@pytest.fixture(scope="session")
def identity_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_identity_template(tmp_path_factory.mktemp("identity"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def settings(tmp_path: Path, population_url: str, identity_template: Path) -> IdentitySettings:
    return make_settings(tmp_path, population_url, identity_template)


# The same tests run against Redis when a test Redis is configured (NATID_TEST_REDIS_URL).
STATE_STORES = ["memory"] + (
    [pytest.param("redis", marks=pytest.mark.redis)] if os.environ.get(REDIS_URL_VARIABLE) else []
)


@pytest.fixture(params=STATE_STORES)
def state(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStateStore(clock=clock)
        return
    with redis_state_store(os.environ[REDIS_URL_VARIABLE], clock) as store:
        yield store


@pytest.fixture
def app(settings: IdentitySettings, state: StateStore, clock: FakeClock) -> Iterator[FastAPI]:
    application = make_app(settings, state, clock)
    yield application
    close_app(application)


@pytest.fixture
def services(app: FastAPI) -> IdentityServices:
    return app.state.services


@pytest.fixture
def demo(services: IdentityServices) -> dict[int, DemoCredential]:
    return demo_accounts(services)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as client:
        yield client


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    async with Browser(app) as citizen_browser:
        yield citizen_browser
