"""Building the IdP for tests: a small seeded population, keys made once, cheap argon2.

Shared by the fixtures in ``conftest.py`` and the end-to-end tests one directory up (which
cannot see this directory's fixtures).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import KeyStore
from identity_service.oidc.client_seeds import load_client_seeds
from identity_service.state import RedisStateStore, StateStore
from population_db.loader import seed_population
from tests.identity_service.oidc.support import ISSUER, FakeClock

REPO_ROOT = Path(__file__).resolve().parents[3]
CLIENT_SEEDS = REPO_ROOT / "seeds" / "clients.toml"
TEST_CLIENT_SEEDS = Path(__file__).resolve().parent / "level2_portal.toml"
TEST_SECRET = "test-server-secret-for-natid-oidc-tests"
TEST_PASSPHRASE = "test-key-passphrase"
# Real argon2id, deliberately cheap (warehouse's trick): tests stay fast.
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
GENERATED_CITIZENS = 60
REDIS_URL_VARIABLE = "NATID_TEST_REDIS_URL"


def seed_test_population(directory: Path) -> str:
    """A population database of the demo citizens plus a few generated ones."""
    url = f"sqlite:///{directory / 'population.db'}"
    seed_population(url, GENERATED_CITIZENS, seed=11)
    return url


def make_identity_template(directory: Path) -> Path:
    """An identity database with schema and one key per algorithm (RSA is slow to make)."""
    path = directory / "identity.db"
    engine = create_identity_engine(f"sqlite:///{path}")
    create_identity_schema(engine)
    KeyStore(engine, TEST_PASSPHRASE.encode()).ensure_keys()
    engine.dispose()
    return path


def make_settings(directory: Path, population_url: str, template: Path) -> IdentitySettings:
    identity_db = directory / "identity.db"
    shutil.copyfile(template, identity_db)
    return IdentitySettings(
        data_dir=directory,
        issuer=ISSUER,
        identity_db_url=f"sqlite:///{identity_db}",
        population_db_url=population_url,
        secret_key=TEST_SECRET,
        key_passphrase=TEST_PASSPHRASE,
        **CHEAP_ARGON2,
    )


@contextmanager
def redis_state_store(url: str, clock: FakeClock) -> Iterator[RedisStateStore]:
    """A Redis state store under a key prefix of its own, emptied afterwards.

    Redis expires keys in real time; tests move a fake clock. So that a test that lets
    60 s pass sees the same expiries as with the memory store, moving ``clock`` forward
    also takes that much off the remaining life of every key under the prefix.
    """
    prefix = f"natid_test:{uuid.uuid4().hex}:"
    store = RedisStateStore.from_url(url, prefix=prefix)
    client = redis.Redis.from_url(url)
    advance_clock = clock.advance

    def advance(seconds: float) -> None:
        advance_clock(seconds)
        for key in client.scan_iter(match=f"{prefix}*"):
            remaining_ms = client.pttl(key)
            if remaining_ms > 0:
                left = remaining_ms - int(seconds * 1000)
                if left > 0:
                    client.pexpire(key, left)
                else:
                    client.delete(key)

    clock.advance = advance  # type: ignore[method-assign]
    try:
        yield store
    finally:
        clock.advance = advance_clock  # type: ignore[method-assign]
        try:
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
        finally:
            client.close()
            store.close()


def make_app(settings: IdentitySettings, state: StateStore, clock: FakeClock) -> FastAPI:
    """The IdP with the demo clients and the tests' own level-2 portal."""
    app = create_app(settings, state_store=state, client_seeds=CLIENT_SEEDS, clock=clock)
    load_client_seeds(app.state.services.clients, TEST_CLIENT_SEEDS)
    return app


def close_app(app: FastAPI) -> None:
    services: IdentityServices = app.state.services
    services.population.close()
    services.identity_engine.dispose()


def demo_accounts(services: IdentityServices) -> dict[int, DemoCredential]:
    """The demo accounts by level (1: Lê Hoàng Nam, 2: Nguyễn Thị Lan with TOTP)."""
    by_level: dict[int, DemoCredential] = {}
    for credential in services.accounts.ensure_demo_accounts():
        by_level.setdefault(credential.level, credential)
    return by_level
