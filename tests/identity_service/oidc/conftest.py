"""Fixtures: a small seeded population, an identity database with keys, the app in-process.

The population (demo citizens + a few generated ones) and an identity database holding
signing keys are built once per session; every test gets its own copy of the identity
database, its own memory state store, a fake clock and a fresh app, so tests never share
sessions, consents or counters.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import KeyStore
from identity_service.state import MemoryStateStore
from population_db.loader import seed_population
from tests.identity_service.oidc.support import ISSUER, Browser, FakeClock

REPO_ROOT = Path(__file__).resolve().parents[3]
CLIENT_SEEDS = REPO_ROOT / "seeds" / "clients.toml"
TEST_SECRET = "test-server-secret-for-natid-oidc-tests"
TEST_PASSPHRASE = "test-key-passphrase"
# Real argon2id, deliberately cheap (warehouse's trick): tests stay fast.
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}


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
    url = f"sqlite:///{tmp_path_factory.mktemp('population') / 'population.db'}"
    seed_population(url, 60, seed=11)
    return url


@pytest.fixture(scope="session")
def identity_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An identity database with schema and one key per algorithm (RSA is slow to make)."""
    path = tmp_path_factory.mktemp("identity") / "identity.db"
    engine = create_identity_engine(f"sqlite:///{path}")
    create_identity_schema(engine)
    KeyStore(engine, TEST_PASSPHRASE.encode()).ensure_keys()
    engine.dispose()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def settings(tmp_path: Path, population_url: str, identity_template: Path) -> IdentitySettings:
    identity_db = tmp_path / "identity.db"
    shutil.copyfile(identity_template, identity_db)
    return IdentitySettings(
        data_dir=tmp_path,
        issuer=ISSUER,
        identity_db_url=f"sqlite:///{identity_db}",
        population_db_url=population_url,
        secret_key=TEST_SECRET,
        key_passphrase=TEST_PASSPHRASE,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def state(clock: FakeClock) -> MemoryStateStore:
    return MemoryStateStore(clock=clock)


@pytest.fixture
def app(settings: IdentitySettings, state: MemoryStateStore, clock: FakeClock) -> Iterator[FastAPI]:
    application = create_app(settings, state_store=state, client_seeds=CLIENT_SEEDS, clock=clock)
    yield application
    services: IdentityServices = application.state.services
    services.population.close()
    services.identity_engine.dispose()


@pytest.fixture
def services(app: FastAPI) -> IdentityServices:
    return app.state.services


@pytest.fixture
def demo(services: IdentityServices) -> dict[int, DemoCredential]:
    """The demo accounts by level (1: Lê Hoàng Nam, 2: Nguyễn Thị Lan with TOTP)."""
    credentials = services.accounts.ensure_demo_accounts()
    by_level: dict[int, DemoCredential] = {}
    for credential in credentials:
        by_level.setdefault(credential.level, credential)
    return by_level


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as client:
        yield client


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    async with Browser(app) as citizen_browser:
        yield citizen_browser
