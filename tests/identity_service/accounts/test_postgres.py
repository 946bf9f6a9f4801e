"""The password step and the consent check on a PostgreSQL identity database: the plain
lookups they use (``db.read_row``) read the same values as on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from identity_service.accounts import AccountService, LoginFailedError
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.policy import PasswordPolicy
from identity_service.config import IdentitySettings
from identity_service.oidc.consent import ConsentService
from identity_service.state import MemoryStateStore
from population_db.registry import PopulationRegistry

from .conftest import COMMON_PASSWORDS, GOOD_PASSWORD, CountingHasher, FakeClock, Population

pytestmark = pytest.mark.postgres
IP = "198.51.100.7"


@pytest.fixture
def pg_service(
    postgres_engine: Engine,
    registry: PopulationRegistry,
    settings: IdentitySettings,
    clock: FakeClock,
    hasher: CountingHasher,
) -> AccountService:
    return AccountService(
        postgres_engine,
        registry,
        MemoryStateStore(),
        settings,
        clock=clock,
        passwords=PasswordHashing(hasher),
        policy=PasswordPolicy(COMMON_PASSWORDS),
    )


def test_password_login_reads_the_account_on_postgresql(
    pg_service: AccountService, population: Population
) -> None:
    citizen = population.adult
    number = citizen.personal_id_number
    pg_service.register(number, citizen.full_name, citizen.birth_date, citizen.phone, GOOD_PASSWORD)
    with pytest.raises(LoginFailedError):
        pg_service.authenticate(number, "not the password", IP)
    level1 = pg_service.authenticate(number, GOOD_PASSWORD, IP)
    assert (level1.level, level1.second_factor_available) == (1, False)

    pg_service.upgrade_to_level2(number)
    level2 = pg_service.authenticate(number, GOOD_PASSWORD, IP)
    assert (level2.level, level2.second_factor_required, level2.second_factor_available) == (
        2,
        True,
        True,
    )


def test_consent_is_read_back_on_postgresql(postgres_engine: Engine) -> None:
    consents = ConsentService(postgres_engine)
    assert consents.granted_scopes("001190000001", "portal") == frozenset()
    consents.grant("001190000001", "portal", ["openid", "profile"])
    consents.grant("001190000001", "portal", ["address"])
    assert consents.granted_scopes("001190000001", "portal") == {"openid", "profile", "address"}
    assert consents.covers("001190000001", "portal", ["openid", "address"])
    assert not consents.covers("001190000001", "other-portal", ["openid"])
