"""Fixtures: the real IdP and the three portals in-process, joined by one ``Network``.

The IdP is built here from ``identity_service.app.create_app`` (tests may host it; the
portal code never imports it) over a small seeded population, with its demo clients
from ``seeds/clients.toml`` and the demo citizens' accounts. The portals reach it only
over HTTP through the network transport, exactly as they would over sockets.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from identity_service.api.deps import IdentityServices
from identity_service.app import create_app as create_idp
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import KeyStore
from identity_service.state import MemoryStateStore
from population_db.loader import seed_population
from portals.bank.app import create_app as create_bank
from portals.bank.settings import BankSettings
from portals.clinic.app import create_app as create_clinic
from portals.clinic.settings import ClinicSettings
from portals.public_services.app import create_app as create_public_services
from portals.public_services.settings import PublicServicesSettings
from tests.portals.support import (
    BANK,
    CLINIC,
    IDP,
    PUBLIC_SERVICES,
    Browser,
    Citizen,
    FakeClock,
    Network,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_SEEDS = REPO_ROOT / "seeds" / "clients.toml"
KEY_PASSPHRASE = "portal-tests-key-passphrase"
# Real argon2id with deliberately cheap parameters: the tests stay fast.
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must never read the developer's NATID_* variables."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def population_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('population') / 'population.db'}"
    seed_population(url, 40, seed=5)
    return url


@pytest.fixture(scope="session")
def identity_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An identity database holding one key per algorithm (RSA keys are slow to make)."""
    path = tmp_path_factory.mktemp("identity") / "identity.db"
    engine = create_identity_engine(f"sqlite:///{path}")
    create_identity_schema(engine)
    KeyStore(engine, KEY_PASSPHRASE.encode()).ensure_keys()
    engine.dispose()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def idp(
    tmp_path: Path,
    population_url: str,
    identity_template: Path,
    clock: FakeClock,
    network: Network,
) -> Iterator[FastAPI]:
    identity_db = tmp_path / "identity.db"
    shutil.copyfile(identity_template, identity_db)
    settings = IdentitySettings(
        data_dir=tmp_path / "idp",
        issuer=IDP,
        identity_db_url=f"sqlite:///{identity_db}",
        population_db_url=population_url,
        secret_key="portal-tests-idp-secret",
        key_passphrase=KEY_PASSPHRASE,
        **CHEAP_ARGON2,
    )
    app = create_idp(
        settings,
        state_store=MemoryStateStore(clock=clock),
        client_seeds=CLIENT_SEEDS,
        clock=clock,
        # Back-channel logout tokens reach the in-process portals over the same network.
        backchannel_transport=network,
    )
    network.attach(IDP, app)
    yield app
    services: IdentityServices = app.state.services
    services.population.close()
    services.identity_engine.dispose()


@pytest.fixture
def idp_services(idp: FastAPI) -> IdentityServices:
    return idp.state.services


@pytest.fixture
def citizens(idp_services: IdentityServices) -> dict[int, Citizen]:
    """A demo citizen per level (2: with a TOTP secret), as ``natid accounts demo`` makes."""
    by_level: dict[int, Citizen] = {}
    for credential in idp_services.accounts.ensure_demo_accounts():
        by_level.setdefault(
            credential.level,
            Citizen(
                personal_id_number=credential.personal_id_number,
                password=credential.password,
                level=credential.level,
                totp_secret=credential.totp_secret,
                full_name=credential.full_name,
            ),
        )
    return by_level


def _portal_common(tmp_path: Path, name: str) -> dict[str, object]:
    return {
        "issuer": IDP,
        "data_dir": tmp_path / name,
        "session_secret": f"portal-tests-{name}-session-secret",
    }


@pytest.fixture
def public_services(
    tmp_path: Path, idp: FastAPI, network: Network, clock: FakeClock
) -> Iterator[FastAPI]:
    settings = PublicServicesSettings(
        client_id="public-services-portal",
        client_secret="demo-secret-public-services-portal-not-for-production",
        base_url=PUBLIC_SERVICES,
        **_portal_common(tmp_path, "public_services"),
    )
    app = create_public_services(settings, transport=network, clock=clock)
    network.attach(PUBLIC_SERVICES, app)
    yield app
    app.state.portal.engine.dispose()


@pytest.fixture
def bank(tmp_path: Path, idp: FastAPI, network: Network, clock: FakeClock) -> Iterator[FastAPI]:
    settings = BankSettings(
        client_id="demo-bank",
        base_url=BANK,
        **_portal_common(tmp_path, "bank"),
    )
    app = create_bank(settings, transport=network, clock=clock)
    network.attach(BANK, app)
    yield app
    app.state.portal.engine.dispose()


@pytest.fixture
def clinic(tmp_path: Path, idp: FastAPI, network: Network, clock: FakeClock) -> Iterator[FastAPI]:
    settings = ClinicSettings(
        client_id="demo-clinic",
        client_secret="demo-secret-demo-clinic-not-for-production",
        token_endpoint_auth_method="client_secret_post",
        base_url=CLINIC,
        **_portal_common(tmp_path, "clinic"),
    )
    app = create_clinic(settings, transport=network, clock=clock)
    network.attach(CLINIC, app)
    yield app
    app.state.portal.engine.dispose()


@pytest.fixture
async def browser(network: Network) -> AsyncIterator[Browser]:
    citizen_browser = Browser(network)
    yield citizen_browser
    await citizen_browser.aclose()
