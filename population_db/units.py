"""Administrative units: the 63 pre-2025 provinces and the 34 units in force since 1 July 2025.

The ID number keeps the old province code of the birth registration for life, so births
are registered under the 63 old codes, while residence uses the current 34 units. This
module owns both lists and the mapping old → current, read once from ``seeds/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from population_db.seeds import read_csv

#: Regions whose common surnames take the southern forms (Huỳnh for Hoàng, Võ for Vũ).
SOUTHERN_REGIONS = frozenset({"south_central", "central_highlands", "southeast", "mekong"})


@dataclass(frozen=True, slots=True)
class Province:
    """A pre-2025 province or centrally-run city; ``code`` is the ID-number prefix (1-96)."""

    code: int
    name: str
    kind: str
    region: str
    population_2019: int
    unit_code: int

    @property
    def id_prefix(self) -> str:
        return f"{self.code:03d}"


@dataclass(frozen=True, slots=True)
class Unit:
    """A provincial-level unit in force since 1 July 2025."""

    code: int
    name: str
    kind: str
    admin_centre: str
    population: int


@cache
def provinces() -> tuple[Province, ...]:
    return tuple(
        Province(
            code=int(row["code"]),
            name=row["name"],
            kind=row["kind"],
            region=row["region"],
            population_2019=round(float(row["population_2019_thousands"]) * 1000),
            unit_code=int(row["unit_code"]),
        )
        for row in read_csv("provinces.csv")
    )


@cache
def units() -> tuple[Unit, ...]:
    return tuple(
        Unit(
            code=int(row["code"]),
            name=row["name"],
            kind=row["kind"],
            admin_centre=row["admin_centre"],
            population=int(row["population"]),
        )
        for row in read_csv("units.csv")
    )


@cache
def province_codes() -> frozenset[int]:
    return frozenset(p.code for p in provinces())


@cache
def province_by_code() -> dict[int, Province]:
    return {p.code: p for p in provinces()}


@cache
def unit_by_code() -> dict[int, Unit]:
    return {u.code: u for u in units()}


def current_unit_of(province_code: int) -> Unit:
    """The unit an old province became part of on 1 July 2025."""
    return unit_by_code()[province_by_code()[province_code].unit_code]


def province_name(code: int) -> str:
    return province_by_code()[code].name


def unit_name(code: int) -> str:
    return unit_by_code()[code].name
