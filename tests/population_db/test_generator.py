"""The synthetic population generator: determinism, uniqueness, consistency and shape."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import re

import pytest

from population_db import generator
from population_db.identifiers import PersonalIdNumber
from population_db.models import CITIZEN_COLUMNS, HOUSEHOLD_COLUMNS
from population_db.seeds import read_csv

COL = {name: i for i, name in enumerate(CITIZEN_COLUMNS)}


def _field(row: tuple, name: str):
    return row[COL[name]]


def _digest(batch: generator.PopulationBatch) -> str:
    return hashlib.sha256(repr((batch.households, batch.citizens)).encode()).hexdigest()


@pytest.fixture(scope="module")
def sample() -> list[tuple]:
    """Six batches of 10,000: enough for shape checks, quick to make."""
    rows: list[tuple] = []
    for index in range(6):
        rows += generator.generate_batch(2024, index, 10_000).citizens
    return rows


def test_same_seed_same_batch_is_identical() -> None:
    assert _digest(generator.generate_batch(5, 3, 2_000)) == _digest(
        generator.generate_batch(5, 3, 2_000)
    )


def test_other_seed_or_batch_differs() -> None:
    base = _digest(generator.generate_batch(5, 3, 2_000))
    assert _digest(generator.generate_batch(6, 3, 2_000)) != base
    assert _digest(generator.generate_batch(5, 4, 2_000)) != base


def test_batch_has_exactly_the_requested_citizens_in_column_order() -> None:
    batch = generator.generate_batch(1, 0, 1_234)
    assert len(batch.citizens) == 1_234
    assert all(len(row) == len(CITIZEN_COLUMNS) for row in batch.citizens)
    assert all(len(row) == len(HOUSEHOLD_COLUMNS) for row in batch.households)


def test_plan_counts_demo_citizens_in_the_total() -> None:
    demo = len(generator.demo_batch().citizens)
    sizes = generator.plan_batches(50_000 + demo, batch_size=20_000)
    assert sizes == [20_000, 20_000, 10_000]
    assert generator.plan_batches(demo) == []
    with pytest.raises(ValueError, match="at least"):
        generator.plan_batches(demo - 1)


def test_id_numbers_unique_and_consistent(sample: list[tuple]) -> None:
    demo = generator.demo_batch().citizens
    ids = [_field(r, "personal_id_number") for r in sample + demo]
    assert len(set(ids)) == len(ids)
    for row in sample:
        number = PersonalIdNumber.parse(_field(row, "personal_id_number"))
        number.check_consistent(
            birth_date=dt.date.fromisoformat(_field(row, "birth_date")),
            gender=_field(row, "gender"),
            region_code=_field(row, "birth_registration_province_code"),
        )
        assert number.random_part < generator.DEMO_RANDOM_PART_START


def test_families_are_consistent(sample: list[tuple]) -> None:
    by_id = {_field(r, "personal_id_number"): r for r in sample}
    checked_children = 0
    for row in sample:
        born = dt.date.fromisoformat(_field(row, "birth_date"))
        for link in ("father_id_number", "mother_id_number"):
            parent_id = _field(row, link)
            if parent_id is None:
                continue
            parent = by_id[parent_id]  # links stay inside the batch
            parent_born = dt.date.fromisoformat(_field(parent, "birth_date"))
            eighteenth = parent_born.replace(
                year=parent_born.year + 18, day=min(parent_born.day, 28)
            )
            assert eighteenth <= born
            expected_gender = "male" if link == "father_id_number" else "female"
            assert _field(parent, "gender") == expected_gender
        father_id = _field(row, "father_id_number")
        if father_id is not None:
            assert _field(row, "family_name") == _field(by_id[father_id], "family_name")
            checked_children += 1
        spouse_id = _field(row, "spouse_id_number")
        if spouse_id is not None:
            spouse = by_id[spouse_id]
            assert _field(spouse, "spouse_id_number") == _field(row, "personal_id_number")
            assert _field(spouse, "gender") != _field(row, "gender")
    assert checked_children > 10_000


def test_households_have_one_living_head(sample: list[tuple]) -> None:
    heads = collections.Counter()
    for row in sample:
        if _field(row, "household_id") is not None:
            assert _field(row, "date_of_death") is None
            heads[_field(row, "household_id")] += _field(row, "relation_to_head") == "head"
    assert set(heads.values()) == {1}


def test_population_looks_like_vietnam(sample: list[tuple]) -> None:
    reference = generator.reference_date()
    living = [r for r in sample if _field(r, "date_of_death") is None]
    ages = [
        (reference - dt.date.fromisoformat(_field(r, "birth_date"))).days / 365.2425 for r in living
    ]
    share = lambda predicate: sum(map(predicate, ages)) / len(ages)  # noqa: E731
    assert 0.19 < share(lambda a: a < 15) < 0.29  # census 2019: 24.3 %
    assert 0.05 < share(lambda a: a >= 65) < 0.11  # census 2019: 7.7 %
    males = sum(_field(r, "gender") == "male" for r in living)
    assert 0.94 < males / (len(living) - males) < 1.05  # about 99 males per 100 females
    surnames = collections.Counter(_field(r, "family_name") for r in sample)
    assert 0.33 < surnames["Nguyễn"] / len(sample) < 0.44
    deceased = len(sample) - len(living)
    assert 0.003 < deceased / len(sample) < 0.05
    members = collections.Counter(_field(r, "household_id") for r in living)
    members.pop(None, None)
    assert 3.0 < sum(members.values()) / len(members) < 4.0  # census 2019: 3.5


def test_cohorts_have_their_middle_names(sample: list[tuple]) -> None:
    def share(gender: str, born_before_1990: bool, name: str) -> float:
        rows = [
            r
            for r in sample
            if _field(r, "gender") == gender
            and (int(_field(r, "birth_date")[:4]) < 1990) == born_before_1990
        ]
        return sum((_field(r, "middle_name") or "").split()[:1] == [name] for r in rows) / len(rows)

    assert share("male", True, "Văn") > 0.4
    assert share("male", False, "Văn") < 0.1
    assert share("female", True, "Thị") > 0.5


def test_contact_data_is_well_formed(sample: list[tuple]) -> None:
    prefixes = {r["prefix"] for r in read_csv("mobile_prefixes.csv")}
    phones = [_field(r, "phone") for r in sample if _field(r, "phone")]
    assert len(phones) > len(sample) / 2
    for phone in phones:
        assert re.fullmatch(r"0[0-9]{9}", phone) and phone[:3] in prefixes
    for row in sample:
        if _field(row, "date_of_death") is not None:
            assert _field(row, "phone") is None
        email = _field(row, "email")
        assert email is None or re.fullmatch(r"[a-z]+\.[a-z]+[0-9]+@example\.vn", email)
        old = _field(row, "old_id_number")
        assert old is None or re.fullmatch(r"[0-9]{9}", old)
    old_ids = [_field(r, "old_id_number") for r in sample if _field(r, "old_id_number")]
    assert len(set(old_ids)) == len(old_ids)


def test_demo_batch_holds_the_fixed_citizens() -> None:
    demo = generator.demo_batch()
    roles = {r["role"] for r in read_csv("demo_citizens.csv")}
    assert {"level2_adult", "level1_adult", "minor", "deceased", "nfd_name"} <= roles
    assert len(demo.citizens) == len(read_csv("demo_citizens.csv"))
    for row in demo.citizens:
        assert PersonalIdNumber.parse(_field(row, "personal_id_number")).random_part >= 999_000
