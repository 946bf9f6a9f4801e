"""The personal identification number: parsing, validation messages, decoding."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from population_db.identifiers import (
    Gender,
    InvalidIdNumberError,
    PersonalIdNumber,
    century_gender_digit,
    is_valid,
    mask,
)
from population_db.units import province_codes

PROVINCES = sorted(province_codes())


@pytest.mark.parametrize(
    ("year", "gender", "digit"),
    [
        (1900, "male", 0),
        (1999, "female", 1),
        (2000, "male", 2),
        (2099, "female", 3),
        (2100, "male", 4),
        (2250, "female", 7),
        (2399, "male", 8),
    ],
)
def test_century_gender_digit_follows_the_decree_table(year: int, gender: str, digit: int) -> None:
    assert century_gender_digit(year, gender) == digit


def test_decodes_a_known_number() -> None:
    number = PersonalIdNumber.parse("079 3 05 012345")
    assert number.value == "079305012345"
    assert number.region_code == 79
    assert number.gender is Gender.FEMALE
    assert number.birth_year == 2005
    assert number.random_part == 12345
    assert not number.is_born_abroad
    assert number.formatted() == "079 3 05 012345"
    assert number.masked() == "07********45"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("07930501234", "12 digits, not 11"),
        ("0793050123456", "12 digits, not 13"),
        ("07930501234x", "only the digits"),
        ("０７９３０５０１２３４５", "only the digits"),  # full-width digits
        ("003305012345", "003 is not a known province"),
        ("097305012345", "097 is not a known province"),
        ("' OR 1=1 --", "only the digits"),
        ("", "12 digits, not 0"),
    ],
)
def test_invalid_numbers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidIdNumberError, match=message):
        PersonalIdNumber.parse(text)
    assert not is_valid(text)


def test_country_codes_are_accepted_as_birth_abroad() -> None:
    assert PersonalIdNumber.parse("124090000001").is_born_abroad


def test_consistency_checks_name_the_contradiction() -> None:
    number = PersonalIdNumber.parse("001090123456")  # male, 1990, Hà Nội
    number.check_consistent(birth_date=dt.date(1990, 5, 1), gender="male", region_code=1)
    with pytest.raises(InvalidIdNumberError, match="born 1990, but the birth date is in 1991"):
        number.check_consistent(birth_date=dt.date(1991, 1, 1))
    with pytest.raises(InvalidIdNumberError, match="means male, not female"):
        number.check_consistent(gender="female")
    with pytest.raises(InvalidIdNumberError, match="registered in 001, not 079"):
        number.check_consistent(region_code=79)


def test_mask_hides_the_middle_of_anything() -> None:
    assert mask("001090123456") == "00********56"
    assert mask("abc") == "***"


@given(
    region=st.sampled_from(PROVINCES),
    birth_date=st.dates(dt.date(1900, 1, 1), dt.date(2399, 12, 31)),
    gender=st.sampled_from(list(Gender)),
    random_part=st.integers(0, 999_999),
)
def test_built_numbers_validate_and_decode_back(
    region: int, birth_date: dt.date, gender: Gender, random_part: int
) -> None:
    number = PersonalIdNumber.build(region, birth_date.year, gender, random_part)
    parsed = PersonalIdNumber.parse(number.value)
    assert parsed == number
    assert (parsed.region_code, parsed.birth_year, parsed.gender) == (
        region,
        birth_date.year,
        gender,
    )
    parsed.check_consistent(birth_date=birth_date, gender=gender, region_code=region)


@given(st.text(max_size=20))
def test_parse_never_fails_with_anything_but_its_own_error(text: str) -> None:
    with contextlib.suppress(InvalidIdNumberError):
        PersonalIdNumber.parse(text)
