"""Level 2: binding an authenticator, the TOTP step, replay and its own lockout counters."""

from __future__ import annotations

import urllib.parse

import pytest
import sqlalchemy as sa

from identity_service.accounts import (
    AccountLockedError,
    AccountNotFoundError,
    AccountService,
    LoginFailedError,
)
from identity_service.accounts.second_factor import code_at

from .conftest import GOOD_PASSWORD, Citizen, FakeClock, Population

IP = "198.51.100.7"


@pytest.fixture
def enrolled(service: AccountService, registered: Citizen) -> tuple[Citizen, str]:
    enrollment = service.upgrade_to_level2(registered.personal_id_number)
    return registered, enrollment.secret


def test_upgrade_binds_a_totp_and_returns_its_uri(
    service: AccountService, registered: Citizen
) -> None:
    enrollment = service.upgrade_to_level2(registered.personal_id_number)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(enrollment.provisioning_uri).query)
    assert query["secret"] == [enrollment.secret] and query["issuer"] == ["natid"]
    assert registered.personal_id_number not in enrollment.provisioning_uri
    summary = service.summary(registered.personal_id_number)
    assert summary is not None and summary.level == 2 and summary.has_totp


def test_secret_is_encrypted_at_rest(
    service: AccountService, enrolled: tuple[Citizen, str], identity_engine: sa.Engine
) -> None:
    citizen, secret = enrolled
    with identity_engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT totp_secret FROM account WHERE personal_id_number = :n"),
            {"n": citizen.personal_id_number},
        ).scalar_one()
    assert stored and secret not in stored


def test_level2_login_needs_password_then_code(
    service: AccountService, enrolled: tuple[Citizen, str], clock: FakeClock
) -> None:
    citizen, secret = enrolled
    result = service.authenticate(citizen.personal_id_number, GOOD_PASSWORD, IP)
    assert result.level == 2 and result.second_factor_required and result.second_factor_available
    service.verify_totp(citizen.personal_id_number, code_at(secret, clock()), IP)


def test_code_from_the_previous_step_is_accepted_older_is_not(
    service: AccountService, enrolled: tuple[Citizen, str], clock: FakeClock
) -> None:
    citizen, secret = enrolled
    service.verify_totp(citizen.personal_id_number, code_at(secret, clock() - 30), IP)
    stale = code_at(secret, clock() - 120)
    if stale not in {code_at(secret, clock() + 30 * k) for k in (-1, 0, 1)}:
        with pytest.raises(LoginFailedError):
            service.verify_totp(citizen.personal_id_number, stale, IP)


def test_replayed_code_is_refused(
    service: AccountService, enrolled: tuple[Citizen, str], clock: FakeClock
) -> None:
    citizen, secret = enrolled
    code = code_at(secret, clock())
    service.verify_totp(citizen.personal_id_number, code, IP)
    clock.advance(10)  # still inside the code's window
    with pytest.raises(LoginFailedError):
        service.verify_totp(citizen.personal_id_number, code, "192.0.2.50")
    clock.advance(30)  # the next step brings a new code, which works
    service.verify_totp(citizen.personal_id_number, code_at(secret, clock()), IP)


def test_level1_account_and_unknown_number_fail_alike(
    service: AccountService, registered: Citizen, population: Population, clock: FakeClock
) -> None:
    with pytest.raises(LoginFailedError) as level1:
        service.verify_totp(registered.personal_id_number, "123456", IP)
    with pytest.raises(LoginFailedError) as unknown:
        service.verify_totp(population.second_adult.personal_id_number, "123456", IP)
    assert str(level1.value) == str(unknown.value)


def test_wrong_codes_lock_the_otp_step_but_not_the_password_step(
    service: AccountService, enrolled: tuple[Citizen, str], clock: FakeClock
) -> None:
    citizen, secret = enrolled
    number = citizen.personal_id_number
    right = code_at(secret, clock())
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" != right)
    for _ in range(4):
        with pytest.raises(LoginFailedError):
            service.verify_totp(number, wrong, IP)
    with pytest.raises(AccountLockedError):
        service.verify_totp(number, wrong, IP)
    with pytest.raises(AccountLockedError):
        service.verify_totp(number, right, IP)
    # The counters are kept apart: the password step is not locked.
    assert service.authenticate(number, GOOD_PASSWORD, IP).level == 2


def test_upgrade_again_replaces_the_authenticator(
    service: AccountService, enrolled: tuple[Citizen, str], clock: FakeClock
) -> None:
    citizen, old_secret = enrolled
    new_secret = service.upgrade_to_level2(citizen.personal_id_number).secret
    assert new_secret != old_secret
    service.verify_totp(citizen.personal_id_number, code_at(new_secret, clock()), IP)


def test_upgrade_without_account(service: AccountService, population: Population) -> None:
    with pytest.raises(AccountNotFoundError):
        service.upgrade_to_level2(population.second_adult.personal_id_number)
