"""The password step: success, no enumeration, rehash, locked and deceased citizens."""

from __future__ import annotations

import datetime as dt
import unicodedata

import argon2
import pytest
import sqlalchemy as sa

from identity_service.accounts import (
    AccountService,
    AccountStatus,
    LoginFailedError,
)
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.policy import PasswordPolicy
from identity_service.config import IdentitySettings
from identity_service.state import StateStore
from population_db.db import CITIZEN_TABLE
from population_db.registry import PopulationRegistry

from .conftest import COMMON_PASSWORDS, GOOD_PASSWORD, Citizen, CountingHasher, Population

IP = "198.51.100.7"


def test_correct_password_logs_in_at_level1(service: AccountService, registered: Citizen) -> None:
    result = service.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP)
    assert result.personal_id_number == registered.personal_id_number
    assert result.level == 1
    assert not result.second_factor_required


def test_password_typed_decomposed_still_matches(
    service: AccountService, registered: Citizen
) -> None:
    typed = unicodedata.normalize("NFD", GOOD_PASSWORD)
    assert typed != GOOD_PASSWORD
    assert service.authenticate(registered.personal_id_number, typed, IP).level == 1


def test_id_number_with_spaces_is_accepted(service: AccountService, registered: Citizen) -> None:
    number = registered.personal_id_number
    spaced = f"{number[:3]} {number[3]} {number[4:6]} {number[6:]}"
    assert service.authenticate(spaced, GOOD_PASSWORD, IP).personal_id_number == number


def test_unknown_id_and_wrong_password_are_indistinguishable(
    service: AccountService, registered: Citizen, population: Population, hasher: CountingHasher
) -> None:
    before = hasher.verifications
    with pytest.raises(LoginFailedError) as wrong_password:
        service.authenticate(registered.personal_id_number, "not the password", IP)
    assert hasher.verifications == before + 1
    # A real citizen without an account, and a number nobody holds.
    for unknown in (population.second_adult.personal_id_number, "001190999111", "garbage"):
        with pytest.raises(LoginFailedError) as no_account:
            service.authenticate(unknown, "not the password", IP)
        assert str(no_account.value) == str(wrong_password.value)
        assert no_account.value.message("vi") == wrong_password.value.message("vi")
    assert hasher.verifications == before + 4  # every failure paid one argon2 verify


def test_rehash_on_login_when_parameters_change(
    service: AccountService,
    registered: Citizen,
    identity_engine: sa.Engine,
    registry: PopulationRegistry,
    state: StateStore,
    settings: IdentitySettings,
) -> None:
    old_hash = service.get(registered.personal_id_number).password_hash  # type: ignore[union-attr]
    stronger = settings.model_copy(update={"argon2_memory_kib": 2048})
    upgraded = AccountService(
        identity_engine,
        registry,
        state,
        stronger,
        passwords=PasswordHashing.from_settings(stronger),
        policy=PasswordPolicy(COMMON_PASSWORDS),
    )
    upgraded.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP)
    new_hash = upgraded.get(registered.personal_id_number).password_hash  # type: ignore[union-attr]
    assert new_hash != old_hash
    assert argon2.extract_parameters(old_hash).memory_cost == 1024
    assert argon2.extract_parameters(new_hash).memory_cost == 2048
    # The next login with the same parameters does not rehash again.
    upgraded.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP)
    assert upgraded.get(registered.personal_id_number).password_hash == new_hash  # type: ignore[union-attr]


def test_wrong_password_does_not_rehash(
    service: AccountService, registered: Citizen, settings: IdentitySettings
) -> None:
    before = service.get(registered.personal_id_number).password_hash  # type: ignore[union-attr]
    with pytest.raises(LoginFailedError):
        service.authenticate(registered.personal_id_number, "wrong passphrase", IP)
    assert service.get(registered.personal_id_number).password_hash == before  # type: ignore[union-attr]


def test_locked_account_cannot_log_in_and_gets_the_generic_message(
    service: AccountService, registered: Citizen
) -> None:
    service.set_status(registered.personal_id_number, AccountStatus.LOCKED)
    with pytest.raises(LoginFailedError):
        service.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP)
    service.set_status(registered.personal_id_number, AccountStatus.ACTIVE)
    assert service.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP).level == 1


def test_citizen_who_died_after_registering_cannot_log_in(
    service: AccountService, registered: Citizen, population: Population
) -> None:
    engine = sa.create_engine(population.url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(CITIZEN_TABLE)
            .where(CITIZEN_TABLE.c.personal_id_number == registered.personal_id_number)
            .values(date_of_death=dt.date(2025, 5, 30))
        )
    engine.dispose()
    with pytest.raises(LoginFailedError):
        service.authenticate(registered.personal_id_number, GOOD_PASSWORD, IP)
