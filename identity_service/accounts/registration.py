"""Level-1 registration checks against the national population database (DOMAIN.md §4).

The declared ID number, full name, birth date and mobile number must all match the
population record (names compared after NFC normalisation and case folding, phones as
digits, by ``PopulationRegistry.match``). An unknown ID number answers exactly like a
mismatch, so registration does not reveal who exists. Only once every declared detail
matched does the answer say more (deceased, under 14): the caller then already knows
that citizen's record.
"""

from __future__ import annotations

import datetime as dt

from identity_service.accounts.errors import RegistrationError
from population_db.identifiers import InvalidIdNumberError, PersonalIdNumber
from population_db.registry import AttributeClaims, CitizenRecord, PopulationRegistry

MINIMUM_AGE = 14  # Decree 69/2024 Art. 7: self-registration from 14 (younger via a parent)
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")  # no daylight saving


def today_in_vietnam(now: float) -> dt.date:
    """The calendar day in Vietnam at Unix time ``now`` (ages turn over at local midnight)."""
    return dt.datetime.fromtimestamp(now, VIETNAM_TIME).date()


def canonical_id_number(text: str) -> str:
    """The 12 digits of a typed ID number; raises ``InvalidIdNumberError``."""
    return PersonalIdNumber.parse(text).value


def verify_registrant(
    registry: PopulationRegistry,
    personal_id_number: str,
    full_name: str,
    birth_date: dt.date | str,
    phone: str,
    *,
    today: dt.date,
) -> CitizenRecord:
    """The population record of an eligible registrant; else ``RegistrationError``."""
    try:
        number = canonical_id_number(personal_id_number)
    except InvalidIdNumberError as error:
        raise RegistrationError("invalid_id_number") from error
    declared_birth_date = _as_date(birth_date)
    if declared_birth_date is None or not full_name.strip() or not phone.strip():
        raise RegistrationError("mismatch")
    claims = AttributeClaims(full_name=full_name, birth_date=declared_birth_date, phone=phone)
    if not registry.match(number, claims).all_matched:
        raise RegistrationError("mismatch")
    record = registry.get(number)
    if record is None:  # vanished between the two reads
        raise RegistrationError("mismatch")
    if record.is_deceased:
        raise RegistrationError("deceased")
    if record.age_on(today) < MINIMUM_AGE:
        raise RegistrationError("too_young", minimum_age=MINIMUM_AGE)
    return record


def _as_date(value: dt.date | str) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
