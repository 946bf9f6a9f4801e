"""Level-1 registration against the population database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata

import pytest

from identity_service.accounts import (
    AccountLevel,
    AccountService,
    RateLimitedError,
    RegistrationError,
)
from identity_service.config import IdentitySettings

from .conftest import GOOD_PASSWORD, Citizen, Population


def _register(service: AccountService, citizen: Citizen, password: str = GOOD_PASSWORD) -> None:
    service.register(
        citizen.personal_id_number, citizen.full_name, citizen.birth_date, citizen.phone, password
    )


def _code(service: AccountService, citizen: Citizen, password: str = GOOD_PASSWORD) -> str:
    with pytest.raises(RegistrationError) as caught:
        _register(service, citizen, password)
    return caught.value.code


def test_matching_details_create_a_level1_account(
    service: AccountService, population: Population
) -> None:
    citizen = population.adult
    account = service.register(
        citizen.personal_id_number,
        f"  {citizen.full_name.upper()} ",  # case and surrounding spaces do not matter
        citizen.birth_date.isoformat(),
        "+84" + citizen.phone[1:],  # +84 is the same number as the leading 0
        GOOD_PASSWORD,
    )
    assert account.level == AccountLevel.LEVEL1
    stored = service.get(citizen.personal_id_number)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in stored.password_hash


def test_decomposed_input_matches_composed_record(
    service: AccountService, population: Population
) -> None:
    citizen = population.adult
    nfd = dataclasses.replace(citizen, full_name=unicodedata.normalize("NFD", citizen.full_name))
    assert nfd.full_name != citizen.full_name
    _register(service, nfd)
    assert service.get(citizen.personal_id_number) is not None


def test_composed_input_matches_decomposed_record(
    service: AccountService, population: Population
) -> None:
    _register(service, population.stored_nfd)  # the fixture gives the NFC spelling
    assert service.get(population.stored_nfd.personal_id_number) is not None


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": "Nguyễn Thị Lân"},  # one diacritic differs
        {"birth_date": dt.date(1990, 3, 16)},
        {"phone": "0912345679"},
    ],
)
def test_any_mismatched_detail_is_refused(
    service: AccountService, population: Population, change: dict[str, object]
) -> None:
    citizen = dataclasses.replace(population.adult, **change)
    assert _code(service, citizen) == "mismatch"
    assert service.get(citizen.personal_id_number) is None


def test_unknown_id_number_answers_like_a_mismatch(
    service: AccountService, population: Population
) -> None:
    stranger = dataclasses.replace(population.adult, personal_id_number="001190999111")
    with pytest.raises(RegistrationError) as unknown:
        _register(service, stranger)
    wrong_phone = dataclasses.replace(population.adult, phone="0999999999")
    with pytest.raises(RegistrationError) as mismatch:
        _register(service, wrong_phone)
    assert (unknown.value.code, str(unknown.value)) == (mismatch.value.code, str(mismatch.value))


def test_malformed_id_number(service: AccountService, population: Population) -> None:
    citizen = dataclasses.replace(population.adult, personal_id_number="12345")
    assert _code(service, citizen) == "invalid_id_number"


def test_fourteen_today_may_register_thirteen_may_not(
    service: AccountService, population: Population
) -> None:
    _register(service, population.turns_14_today)
    assert _code(service, population.turns_14_tomorrow) == "too_young"


def test_deceased_citizen_cannot_register(service: AccountService, population: Population) -> None:
    assert _code(service, population.deceased) == "deceased"


def test_one_account_per_citizen(service: AccountService, population: Population) -> None:
    _register(service, population.adult)
    assert _code(service, population.adult, "another good passphrase") == "already_registered"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too_short"),
        ("Password", "common"),
        ("iloveyou", "common"),
        ("{id}", "id_number"),
        ("my id is {id}", "id_number"),
        ("15031990", "birth_date"),
        ("1990-03-15", "birth_date"),
        ("lan15/03/1990", "birth_date"),
        ("Lan150390!", "birth_date"),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(
    service: AccountService, population: Population, password: str, reason: str
) -> None:
    citizen = population.adult
    code = _code(service, citizen, password.format(id=citizen.personal_id_number))
    assert code == f"weak_password:{reason}"
    assert service.get(citizen.personal_id_number) is None


def test_error_messages_exist_in_both_languages(
    service: AccountService, population: Population
) -> None:
    with pytest.raises(RegistrationError) as caught:
        _register(service, population.turns_14_tomorrow)
    assert "14" in caught.value.message("en") and "14" in caught.value.message("vi")
    assert caught.value.message("en") != caught.value.message("vi")


def test_registration_attempts_are_rate_limited_per_ip(
    service: AccountService, population: Population, settings: IdentitySettings
) -> None:
    guesser = "203.0.113.9"
    wrong = dataclasses.replace(population.adult, phone="0900000000")
    for _ in range(settings.ip_attempts_per_minute):
        with pytest.raises(RegistrationError):
            service.register(
                wrong.personal_id_number,
                wrong.full_name,
                wrong.birth_date,
                wrong.phone,
                GOOD_PASSWORD,
                client_ip=guesser,
            )
    citizen = population.adult
    with pytest.raises(RateLimitedError) as caught:
        service.register(
            citizen.personal_id_number,
            citizen.full_name,
            citizen.birth_date,
            citizen.phone,
            GOOD_PASSWORD,
            client_ip=guesser,
        )
    assert 0 < caught.value.retry_after <= 60
    service.register(
        citizen.personal_id_number,
        citizen.full_name,
        citizen.birth_date,
        citizen.phone,
        GOOD_PASSWORD,
        client_ip="198.51.100.1",
    )
