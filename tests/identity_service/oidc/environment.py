"""Building the IdP for tests: a small seeded population, keys made once, cheap argon2.

Shared by the fixtures in ``conftest.py`` and the end-to-end tests one directory up (which
cannot see this directory's fixtures).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import KeyStore
from identity_service.state import StateStore
from population_db.loader import seed_population
from tests.identity_service.oidc.support import ISSUER, FakeClock

REPO_ROOT = Path(__file__).resolve().parents[3]
CLIENT_SEEDS = REPO_ROOT / "seeds" / "clients.toml"
TEST_SECRET = "test-server-secret-for-natid-oidc-tests"
TEST_PASSPHRASE = "test-key-passphrase"
# Real argon2id, deliberately cheap (warehouse's trick): tests stay fast.
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
GENERATED_CITIZENS = 60


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


def make_app(settings: IdentitySettings, state: StateStore, clock: FakeClock) -> FastAPI:
    return create_app(settings, state_store=state, client_seeds=CLIENT_SEEDS, clock=clock)


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
