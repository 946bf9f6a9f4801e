"""Fixtures for tests that need a whole running identity service (account page, audit
wiring, observability): a seeded population and key template per module, a fresh app
per test with a fake clock, its services, demo accounts, a citizen's browser and an
HTTP client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.idp_harness import RunningIdp, start_idp
from tests.identity_service.oidc.environment import (
    demo_accounts,
    make_identity_template,
    seed_test_population,
)
from tests.identity_service.oidc.support import ISSUER, Browser, FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _environment(clean_natid_environ: None) -> None:
    """Settings never read the developer's NATID_* variables."""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("running-idp")
    return seed_test_population(directory), make_identity_template(directory)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def idp(tmp_path: Path, prepared: tuple[str, Path], clock: FakeClock) -> Iterator[RunningIdp]:
    population_url, template = prepared
    running = start_idp(tmp_path, population_url, template, clock)
    yield running
    running.close()


@pytest.fixture
def services(idp: RunningIdp) -> IdentityServices:
    return idp.services


@pytest.fixture
def demo(services: IdentityServices) -> dict[int, DemoCredential]:
    return demo_accounts(services)


@pytest.fixture
async def browser(idp: RunningIdp) -> AsyncIterator[Browser]:
    async with Browser(idp.app) as citizen_browser:
        yield citizen_browser


@pytest.fixture
async def http(idp: RunningIdp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=idp.app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client
