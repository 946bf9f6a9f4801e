"""The read API of the population database: the only way other packages see citizens.

Owns ``PopulationRegistry`` (get by ID number, match claimed attributes, household
members, search by name and birth date, statistics) and the values it returns
(``CitizenRecord``, ``AttributeClaims``, ``MatchResult``, ``PopulationStatistics``).
Queries are SQLAlchemy Core statements built once per registry; ``get`` is the hot path
of logins and e-KYC, so it is one primary-key select on the thread's own connection
(``population_db.sqlite_threads``).

Names are compared after ``normalize_name`` on both sides (NFC + casefold + collapsed
spaces), so a record stored decomposed (NFD) matches composed input and vice versa.
Phones are compared as digits, with a leading ``+84``/``84`` equal to ``0``.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from population_db import db
from population_db.identifiers import InvalidIdNumberError, PersonalIdNumber
from population_db.models import CITIZEN_COLUMNS
from population_db.sqlite_threads import fetch_one
from population_db.units import unit_by_code

TOP_SURNAMES = 10
AGE_GROUPS = ("0-14", "15-64", "65+")
_RELATION_ORDER = {"head": 0, "spouse": 1, "parent": 2, "child": 3}
_NON_DIGITS = re.compile(r"\D")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CitizenRecord:
    """One citizen as the population database holds them (fields = ``CITIZEN_COLUMNS``)."""

    personal_id_number: str
    family_name: str
    middle_name: str | None
    given_name: str
    full_name: str
    alias: str | None
    birth_date: dt.date
    gender: str  # "male" or "female"
    birth_place_province_code: int
    birth_registration_province_code: int
    hometown_province_code: int
    ethnicity_code: int
    religion_code: int
    nationality: str
    blood_type: str | None
    old_id_number: str | None
    permanent_unit_code: int
    permanent_address: str
    temporary_unit_code: int | None
    temporary_address: str | None
    current_unit_code: int
    marital_status: str
    household_id: int | None
    relation_to_head: str | None
    father_id_number: str | None
    mother_id_number: str | None
    spouse_id_number: str | None
    phone: str | None
    email: str | None
    date_of_death: dt.date | None

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None

    def age_on(self, day: dt.date) -> int:
        """Completed years of age on ``day``."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


if tuple(f.name for f in fields(CitizenRecord)) != CITIZEN_COLUMNS:  # pragma: no cover
    raise RuntimeError("CitizenRecord fields must follow models.CITIZEN_COLUMNS")


@dataclass(frozen=True)
class AttributeClaims:
    """What a caller claims about a citizen; ``None`` means not claimed."""

    full_name: str | None = None
    birth_date: dt.date | None = None
    gender: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class MatchResult:
    found: bool  # False for unknown or malformed numbers
    matched: dict[str, bool]  # one entry per claimed attribute; all False if not found

    @property
    def all_matched(self) -> bool:
        return self.found and bool(self.matched) and all(self.matched.values())


@dataclass(frozen=True)
class PopulationStatistics:
    as_of: dt.date
    total: int
    alive: int
    deceased: int
    male: int
    female: int
    by_current_unit: dict[str, int]  # unit name -> citizens, largest first
    age_groups: dict[str, int]  # "0-14", "15-64", "65+" -> living citizens, as of ``as_of``
    households: int
    mean_household_size: float
    top_surnames: list[tuple[str, int]] = field(default_factory=list)  # NFC name, citizens


def normalize_name(text: str) -> str:
    """NFC, case-folded, whitespace collapsed and stripped: the form names are compared in."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def normalize_phone(text: str) -> str:
    """Digits only, with the country code ``84`` written as the trunk prefix ``0``."""
    digits = _NON_DIGITS.sub("", text)
    if digits.startswith("84") and (text.lstrip().startswith("+") or len(digits) == 11):
        return "0" + digits[2:]
    return digits


class PopulationRegistry:
    """Read-only access to the citizens of one population database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Reads need no transaction: autocommit spares PostgreSQL a BEGIN and a ROLLBACK
        # round trip per lookup (a third of ``get``'s time there). SQLite never sends BEGIN
        # for a SELECT, and switching its isolation level per checkout costs a PRAGMA.
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        citizen = db.CITIZEN_TABLE
        self._columns = [citizen.c[name] for name in CITIZEN_COLUMNS]
        self._by_id = sa.select(*self._columns).where(
            citizen.c.personal_id_number == sa.bindparam("personal_id_number")
        )
        # SQLite: the lookup by number through the driver itself, the values converted by
        # the columns' own result processors. SQLAlchemy's execution costs twice what
        # SQLite does for this one-row primary-key read, which every e-KYC check and login
        # makes (123 vs 46 µs); on the thread's own connection (``sqlite_threads``): a
        # pool checkout and return cost a third of the lookup (11 of 35 µs).
        self._sqlite_by_id: str | None = None
        self._processors: list[Any] = []
        if engine.dialect.name == "sqlite":
            self._sqlite_by_id = (
                f"SELECT {', '.join(CITIZEN_COLUMNS)} FROM {citizen.name} "
                "WHERE personal_id_number = ?"
            )
            self._processors = [
                column.type._cached_result_processor(engine.dialect, None)
                for column in self._columns
            ]
        self._by_household = sa.select(*self._columns).where(
            citizen.c.household_id == sa.bindparam("household_id")
        )
        self._by_birth_date = (
            sa.select(*self._columns)
            .where(citizen.c.birth_date == sa.bindparam("birth_date"))
            .order_by(citizen.c.personal_id_number)
        )

    @classmethod
    def from_url(cls, url: str) -> PopulationRegistry:
        """A registry over an existing population database; ``PopulationDatabaseError`` if none."""
        engine = db.create_population_engine(url)
        try:
            db.require_population_schema(engine)
        except db.PopulationDatabaseError:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The engine this registry reads (for streaming exports in a transaction)."""
        return self._engine

    def get(self, personal_id_number: str) -> CitizenRecord | None:
        """The citizen with this number, or ``None`` if it is unknown or malformed."""
        try:
            number = PersonalIdNumber.parse(personal_id_number).value
        except InvalidIdNumberError:
            return None
        if self._sqlite_by_id is not None:
            return self._sqlite_get(number)
        with self._reader.connect() as connection:
            row = connection.execute(self._by_id, {"personal_id_number": number}).first()
        return CitizenRecord(*row) if row is not None else None

    def _sqlite_get(self, number: str) -> CitizenRecord | None:
        assert self._sqlite_by_id is not None
        try:
            row = fetch_one(self._engine, self._sqlite_by_id, (number,))
        except sqlite3.Error as error:
            # As SQLAlchemy would have raised it, so callers see one kind of failure.
            raise OperationalError(self._sqlite_by_id, (number,), error) from error
        if row is None:
            return None
        return CitizenRecord(
            *(
                value if process is None else process(value)
                for process, value in zip(self._processors, row, strict=True)
            )
        )

    def match(self, personal_id_number: str, claims: AttributeClaims) -> MatchResult:
        """Which claimed attributes agree with the record (the e-KYC comparison)."""
        claimed = {f.name: getattr(claims, f.name) for f in fields(claims)}
        claimed = {name: value for name, value in claimed.items() if value is not None}
        record = self.get(personal_id_number)
        if record is None:
            return MatchResult(found=False, matched=dict.fromkeys(claimed, False))
        return MatchResult(
            found=True,
            matched={
                name: _attribute_matches(record, name, value) for name, value in claimed.items()
            },
        )

    def household_members(self, personal_id_number: str) -> list[CitizenRecord]:
        """Everyone in the citizen's household (head, spouse, parents, children, then by age).

        A citizen registered in no household is alone in it; an unknown number has none.
        """
        record = self.get(personal_id_number)
        if record is None:
            return []
        if record.household_id is None:
            return [record]
        with self._reader.connect() as connection:
            rows = connection.execute(self._by_household, {"household_id": record.household_id})
            members = [CitizenRecord(*row) for row in rows]
        return sorted(
            members,
            key=lambda m: (_RELATION_ORDER.get(m.relation_to_head or "", 9), m.birth_date),
        )

    def search(self, full_name: str, birth_date: dt.date) -> list[CitizenRecord]:
        """Citizens born on ``birth_date`` whose full name equals ``full_name`` (normalised)."""
        wanted = normalize_name(full_name)
        with self._reader.connect() as connection:
            rows = connection.execute(self._by_birth_date, {"birth_date": birth_date})
            records = [CitizenRecord(*row) for row in rows]
        return [r for r in records if normalize_name(r.full_name) == wanted]

    def statistics(self, as_of: dt.date | None = None) -> PopulationStatistics:
        """Counts computed by the database with aggregates; ages as of ``as_of`` (today)."""
        day = as_of or dt.date.today()
        citizen, household = db.CITIZEN_TABLE, db.HOUSEHOLD_TABLE
        alive = citizen.c.date_of_death.is_(None)
        born = citizen.c.birth_date

        def count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        totals = sa.select(
            sa.func.count(),
            count_where(alive),
            count_where(citizen.c.gender == "male"),
            count_where(citizen.c.gender == "female"),
            count_where(alive & (born > _years_before(day, 15))),
            count_where(alive & (born <= _years_before(day, 65))),
            count_where(alive & citizen.c.household_id.is_not(None)),
        )
        by_unit = (
            sa.select(citizen.c.current_unit_code, sa.func.count())
            .where(alive)
            .group_by(citizen.c.current_unit_code)
        )
        by_surname = sa.select(citizen.c.family_name, sa.func.count()).group_by(
            citizen.c.family_name
        )
        with self._reader.connect() as connection:
            total, living, male, female, young, old, housed = connection.execute(totals).one()
            households = connection.execute(
                sa.select(sa.func.count()).select_from(household)
            ).scalar_one()
            unit_counts = connection.execute(by_unit).all()
            surname_counts = connection.execute(by_surname).all()
        units = unit_by_code()
        by_current_unit = {
            (units[code].name if code in units else str(code)): count
            for code, count in sorted(unit_counts, key=lambda row: (-row[1], row[0]))
        }
        surnames: Counter[str] = Counter()
        for name, count in surname_counts:  # NFD spellings join their NFC name
            surnames[unicodedata.normalize("NFC", name)] += count
        return PopulationStatistics(
            as_of=day,
            total=total,
            alive=living,
            deceased=total - living,
            male=male,
            female=female,
            by_current_unit=by_current_unit,
            age_groups={"0-14": young, "15-64": living - young - old, "65+": old},
            households=households,
            mean_household_size=housed / households if households else 0.0,
            top_surnames=sorted(surnames.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_SURNAMES
            ],
        )

    def close(self) -> None:
        self._engine.dispose()  # and with it the threads' connections


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _attribute_matches(record: CitizenRecord, name: str, claimed: object) -> bool:
    if name == "full_name":
        return normalize_name(str(claimed)) == normalize_name(record.full_name)
    if name == "birth_date":
        return claimed == record.birth_date
    if name == "gender":
        return str(claimed).strip().lower() == record.gender
    if name == "phone":
        return record.phone is not None and normalize_phone(str(claimed)) == normalize_phone(
            record.phone
        )
    raise ValueError(f"unknown claimed attribute {name}")
