"""The 12-digit personal identification number (số định danh cá nhân).

Layout ``PPP G YY RRRRRR`` (Decree 137/2015 Art. 13, Circular 07/2016 Art. 7):

* ``PPP``    code of the province (001-096) or country where the birth was registered;
* ``G``      century-and-gender digit: 0/1 for 1900s male/female, 2/3 for 2000s, ... 8/9;
* ``YY``     last two digits of the birth year;
* ``RRRRRR`` a random range with no public check digit.

This module owns parsing, validation (with an error that names what is wrong),
formatting, decoding and the construction of numbers from their parts. It knows the
valid province codes from ``units`` and treats codes 101-295 as country codes
(an unconfirmed third-party reading; see README "Choices").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from population_db.units import province_codes

FIRST_CENTURY = 1900
LAST_CENTURY = 2300
COUNTRY_CODE_RANGE = range(101, 296)
_DIGITS = re.compile(r"[0-9]{12}")
_SEPARATORS = re.compile(r"[\s.\-]")


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class InvalidIdNumberError(ValueError):
    """A string is not a valid personal identification number; the message says why."""


def century_gender_digit(birth_year: int, gender: Gender | str) -> int:
    """The 4th digit for a birth year and gender (even = male, odd = female)."""
    if not FIRST_CENTURY <= birth_year <= LAST_CENTURY + 99:
        raise InvalidIdNumberError(f"birth year {birth_year} is outside 1900-2399")
    century_index = (birth_year - FIRST_CENTURY) // 100
    return 2 * century_index + (1 if Gender(gender) is Gender.FEMALE else 0)


@dataclass(frozen=True, slots=True)
class PersonalIdNumber:
    """A valid 12-digit personal identification number. Build with ``parse`` or ``build``."""

    value: str

    @classmethod
    def parse(cls, text: str) -> PersonalIdNumber:
        """Parse user input, tolerating spaces, dots and dashes between digit groups."""
        if not isinstance(text, str):
            raise InvalidIdNumberError("the ID number must be a string of 12 digits")
        compact = _SEPARATORS.sub("", text)
        if not compact.isascii() or not _DIGITS.fullmatch(compact):
            length = len(compact)
            if compact.isascii() and (compact.isdigit() or not compact):
                raise InvalidIdNumberError(f"the ID number must have 12 digits, not {length}")
            raise InvalidIdNumberError("the ID number must contain only the digits 0-9")
        region = int(compact[:3])
        if region not in province_codes() and region not in COUNTRY_CODE_RANGE:
            raise InvalidIdNumberError(
                f"{compact[:3]} is not a known province or country code of birth registration"
            )
        return cls(compact)

    @classmethod
    def build(
        cls, region_code: int, birth_year: int, gender: Gender | str, random_part: int
    ) -> PersonalIdNumber:
        """Compose a number from its parts (the generator and tests use this)."""
        if not 0 <= random_part <= 999_999:
            raise InvalidIdNumberError("the random part must be 0-999999")
        digit = century_gender_digit(birth_year, gender)
        return cls.parse(f"{region_code:03d}{digit}{birth_year % 100:02d}{random_part:06d}")

    # --- decoding -------------------------------------------------------------------
    @property
    def region_code(self) -> int:
        """Province (001-096) or country (101-295) code of the birth registration."""
        return int(self.value[:3])

    @property
    def is_born_abroad(self) -> bool:
        return self.region_code in COUNTRY_CODE_RANGE

    @property
    def century_gender_digit(self) -> int:
        return int(self.value[3])

    @property
    def gender(self) -> Gender:
        return Gender.FEMALE if self.century_gender_digit % 2 else Gender.MALE

    @property
    def birth_year(self) -> int:
        return FIRST_CENTURY + 100 * (self.century_gender_digit // 2) + int(self.value[4:6])

    @property
    def random_part(self) -> int:
        return int(self.value[6:])

    def check_consistent(
        self,
        *,
        birth_date: dt.date | None = None,
        gender: Gender | str | None = None,
        region_code: int | None = None,
    ) -> None:
        """Raise ``InvalidIdNumberError`` naming the first part that contradicts the facts."""
        if birth_date is not None and birth_date.year != self.birth_year:
            raise InvalidIdNumberError(
                f"century/year digits say born {self.birth_year}, "
                f"but the birth date is in {birth_date.year}"
            )
        if gender is not None and Gender(gender) is not self.gender:
            raise InvalidIdNumberError(
                f"the century-gender digit {self.century_gender_digit} means {self.gender}, "
                f"not {Gender(gender)}"
            )
        if region_code is not None and region_code != self.region_code:
            raise InvalidIdNumberError(
                f"registered in {self.region_code:03d}, not {region_code:03d}"
            )

    def formatted(self) -> str:
        """Grouped for display: ``001 0 90 123456``."""
        v = self.value
        return f"{v[:3]} {v[3]} {v[4:6]} {v[6:]}"

    def masked(self) -> str:
        """Safe for logs and screens: the middle eight digits hidden (as VNeID does)."""
        return f"{self.value[:2]}{'*' * 8}{self.value[-2:]}"

    def __str__(self) -> str:
        return self.value


def is_valid(text: str) -> bool:
    try:
        PersonalIdNumber.parse(text)
    except InvalidIdNumberError:
        return False
    return True


def mask(text: str) -> str:
    """Mask anything that looks like an ID number (works for invalid input too)."""
    if len(text) <= 4:
        return "*" * len(text)
    return f"{text[:2]}{'*' * (len(text) - 4)}{text[-2:]}"
