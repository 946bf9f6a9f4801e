"""The seed tables the generator samples from, loaded once per process as NumPy arrays.

Reads ``seeds/`` (provinces, names, ethnic groups, religions, phone prefixes, streets and
``demography.toml``) and turns every weighted list into a ``Choice``: values plus a
cumulative probability array, so a batch draws thousands of values with one
``searchsorted``. Province-dependent tables (ethnicity, religion) become one cumulative row
per province.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from population_db import units
from population_db.seeds import read_csv, seeds_dir


@dataclass(frozen=True)
class Choice:
    """Weighted values; ``draw`` returns indices into ``values``."""

    values: tuple[Any, ...]
    cumulative: np.ndarray

    @classmethod
    def from_weights(cls, values: list[Any], weights: list[float]) -> Choice:
        w = np.asarray(weights, dtype=np.float64)
        if len(values) == 0 or w.sum() <= 0:
            raise ValueError("a weighted choice needs at least one positive weight")
        cumulative = np.cumsum(w / w.sum())
        cumulative[-1] = 1.0
        return cls(tuple(values), cumulative)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.searchsorted(self.cumulative, rng.random(n), side="right")


@dataclass(frozen=True)
class ProvinceTable:
    """Per-province weighted choices: row ``i`` belongs to ``province_codes[i]``."""

    codes: np.ndarray  # the values drawn (e.g. ethnicity codes)
    cumulative: np.ndarray  # shape (provinces, len(codes))

    def draw(self, rng: np.random.Generator, province_index: np.ndarray) -> np.ndarray:
        u = rng.random(len(province_index))
        rows = self.cumulative[province_index]
        return self.codes[(rows < u[:, None]).sum(axis=1).clip(max=len(self.codes) - 1)]


@dataclass(frozen=True)
class Distributions:
    demography: dict[str, Any]
    reference_date: dt.date
    province_codes: np.ndarray
    province_unit_codes: np.ndarray
    province_southern: np.ndarray  # bool: southern surname forms
    province_mountain: np.ndarray  # bool: northern mountains (villages are "bản")
    province_mekong_south: np.ndarray  # bool: villages are "ấp"
    province_choice: Choice  # indices into province_codes
    family_names: tuple[str, ...]
    family_name_choice: Choice
    southern_form: np.ndarray  # index of the southern form of each family name
    middle_names: dict[tuple[str, str], Choice]  # (gender, cohort) -> names
    given_names: dict[str, Choice]  # gender -> names
    ethnicity: ProvinceTable
    religion: ProvinceTable
    phone_prefixes: Choice
    streets: tuple[str, ...]
    age_choice: Choice  # single years of age 0..100
    household_size_choice: Choice
    blood_choice: Choice
    ascii_names: dict[str, str]

    def province_index(self, codes: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.province_codes, codes)


def _with_shares(rows: list[dict[str, str]], value: str, weight: str) -> Choice:
    return Choice.from_weights([r[value] for r in rows], [float(r[weight]) for r in rows])


def _province_table(
    national: dict[int, float], skew_file: str, remainder_code: int
) -> ProvinceTable:
    """National shares everywhere, except provinces listed in ``skew_file`` whose listed
    codes take exactly their shares and leave the rest to ``remainder_code``."""
    codes = np.array(sorted(national), dtype=np.int64)
    provinces = [p.code for p in units.provinces()]
    matrix = np.tile(np.array([national[c] for c in codes], dtype=np.float64), (len(provinces), 1))
    skews: dict[int, dict[int, float]] = {}
    for row in read_csv(skew_file):
        listed = skews.setdefault(int(row["province_code"]), {})
        listed[int(row[_code_column(row)])] = float(row["share_percent"])
    for i, province in enumerate(provinces):
        if province in skews:
            listed = skews[province]
            matrix[i] = 0.0
            for code, share in listed.items():
                matrix[i, np.searchsorted(codes, code)] = share
            matrix[i, np.searchsorted(codes, remainder_code)] += max(
                0.0, 100.0 - sum(listed.values())
            )
    matrix /= matrix.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(matrix, axis=1)
    cumulative[:, -1] = 1.0
    return ProvinceTable(codes, cumulative)


def _code_column(row: dict[str, str]) -> str:
    return next(k for k in row if k.endswith("_code") and k != "province_code")


def ascii_fold(text: str) -> str:
    """Vietnamese to plain ASCII for e-mail local parts: strip marks, đ → d."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@cache
def load() -> Distributions:
    with (seeds_dir() / "demography.toml").open("rb") as handle:
        demography = tomllib.load(handle)
    provinces = units.provinces()
    codes = np.array([p.code for p in provinces], dtype=np.int64)

    surname_rows = read_csv("family_names.csv")
    family_names = [r["name"] for r in surname_rows]
    extra = [r["southern_form"] for r in surname_rows if r["southern_form"]]
    all_surnames = family_names + [s for s in extra if s not in family_names]
    southern = np.arange(len(all_surnames))
    for i, r in enumerate(surname_rows):
        if r["southern_form"]:
            southern[i] = all_surnames.index(r["southern_form"])
    surname_weights = [float(r["share_percent"]) for r in surname_rows] + [0.0] * (
        len(all_surnames) - len(family_names)
    )

    middle: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in read_csv("middle_names.csv"):
        middle.setdefault((r["gender"], r["cohort"]), []).append(r)
    given: dict[str, list[dict[str, str]]] = {}
    for r in read_csv("given_names.csv"):
        given.setdefault(r["gender"], []).append(r)

    ages = demography["age_groups"]
    age_weights = np.zeros(101)
    for lower, percent in ages.items():
        lo = int(lower)
        hi = 100 if lo == 80 else lo + 4
        span = hi - lo + 1
        if lo == 80:  # thin the 80+ tail geometrically rather than flat to 100
            tail = 0.85 ** np.arange(span)
            age_weights[lo : hi + 1] = percent * tail / tail.sum()
        else:
            age_weights[lo : hi + 1] = percent / span

    sizes = demography["households"]["size_percent"]
    blood = demography["blood"]["abo_percent"]
    ethnic = {int(r["code"]): float(r["share_percent"]) for r in read_csv("ethnic_groups.csv")}
    religion = {int(r["code"]): float(r["share_percent"]) for r in read_csv("religions.csv")}
    names_for_ascii = set(all_surnames) | {r["name"] for rows in given.values() for r in rows}
    return Distributions(
        demography=demography,
        reference_date=demography["reference_date"],
        province_codes=codes,
        province_unit_codes=np.array([p.unit_code for p in provinces], dtype=np.int64),
        province_southern=np.array([p.region in units.SOUTHERN_REGIONS for p in provinces]),
        province_mountain=np.array([p.region == "northern_mountains" for p in provinces]),
        province_mekong_south=np.array([p.region in ("mekong", "southeast") for p in provinces]),
        province_choice=Choice.from_weights(
            list(range(len(provinces))), [p.population_2019 for p in provinces]
        ),
        family_names=tuple(all_surnames),
        family_name_choice=Choice.from_weights(list(range(len(all_surnames))), surname_weights),
        southern_form=southern,
        middle_names={k: _with_shares(v, "name", "weight") for k, v in middle.items()},
        given_names={k: _with_shares(v, "name", "weight") for k, v in given.items()},
        ethnicity=_province_table(ethnic, "ethnic_skew.csv", remainder_code=1),
        religion=_province_table(religion, "religion_skew.csv", remainder_code=0),
        phone_prefixes=_with_shares(read_csv("mobile_prefixes.csv"), "prefix", "weight"),
        streets=tuple(r["name"] for r in read_csv("street_names.csv")),
        age_choice=Choice.from_weights(list(range(101)), list(age_weights)),
        household_size_choice=Choice.from_weights(
            [int(k) for k in sizes], [float(v) for v in sizes.values()]
        ),
        blood_choice=Choice.from_weights(list(blood), list(blood.values())),
        ascii_names={n: ascii_fold(n) for n in names_for_ascii},
    )
