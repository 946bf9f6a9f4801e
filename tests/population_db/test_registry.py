"""The read API: get, match, household members, search, statistics (population_db.registry)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from population_db import db
from population_db.registry import (
    AttributeClaims,
    CitizenRecord,
    PopulationRegistry,
    normalize_name,
)
from population_db.seeds import read_csv
from population_db.units import unit_name

AS_OF = dt.date(2025, 7, 1)


@pytest.fixture(scope="module")
def registry(seeded_url: str) -> Iterator[PopulationRegistry]:
    registry = PopulationRegistry.from_url(seeded_url)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def everyone(registry: PopulationRegistry) -> list[CitizenRecord]:
    with registry.engine.connect() as connection:
        return [CitizenRecord(*row) for row in connection.execute(sa.select(db.CITIZEN_TABLE))]


def demo(role: str) -> dict[str, str]:
    return next(row for row in read_csv("demo_citizens.csv") if row["role"] == role)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_get_returns_the_stored_record_with_typed_fields(registry: PopulationRegistry) -> None:
    row = demo("level2_adult")
    record = registry.get(row["personal_id_number"])
    assert record is not None
    assert (record.family_name, record.given_name, record.gender, record.phone) == (
        row["family_name"],
        row["given_name"],
        row["gender"],
        row["phone"],
    )
    assert record.birth_date == dt.date.fromisoformat(row["birth_date"])
    assert record.date_of_death is None and not record.is_deceased
    number = row["personal_id_number"]
    assert registry.get(f"{number[:3]} {number[3]} {number[4:6]} {number[6:]}") == record


def test_the_deceased_demo_citizen_has_a_date_of_death(registry: PopulationRegistry) -> None:
    row = demo("deceased")
    record = registry.get(row["personal_id_number"])
    assert record is not None and record.is_deceased
    assert record.date_of_death == dt.date.fromisoformat(row["date_of_death"])


@pytest.mark.parametrize("number", ["", "abc", "12345", "0011859990011", "000185999001"])
def test_get_of_a_malformed_number_is_none(registry: PopulationRegistry, number: str) -> None:
    assert registry.get(number) is None


def test_get_of_an_unknown_valid_number_is_none(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    known = {record.personal_id_number for record in everyone}
    unknown = next(f"001190{n:06d}" for n in range(1_000_000) if f"001190{n:06d}" not in known)
    assert registry.get(unknown) is None


def test_a_name_stored_decomposed_matches_composed_claims(registry: PopulationRegistry) -> None:
    row = demo("nfd_name")
    record = registry.get(row["personal_id_number"])
    assert record is not None
    assert unicodedata.is_normalized("NFD", record.full_name)
    assert not unicodedata.is_normalized("NFC", record.full_name)
    composed = unicodedata.normalize("NFC", record.full_name)
    claims = AttributeClaims(full_name=f"  {composed.upper()}  ", birth_date=record.birth_date)
    result = registry.match(row["personal_id_number"], claims)
    assert result.found and result.all_matched
    assert result.matched == {"full_name": True, "birth_date": True}


def test_a_name_stored_composed_matches_decomposed_claims(registry: PopulationRegistry) -> None:
    row = demo("level2_adult")
    record = registry.get(row["personal_id_number"])
    assert record is not None and unicodedata.is_normalized("NFC", record.full_name)
    result = registry.match(
        row["personal_id_number"], AttributeClaims(full_name=nfd(record.full_name))
    )
    assert result.matched == {"full_name": True}


def test_match_reports_each_claimed_attribute(registry: PopulationRegistry) -> None:
    row = demo("level2_adult")
    number = row["personal_id_number"]
    phone = row["phone"]
    birth = dt.date.fromisoformat(row["birth_date"])
    full = AttributeClaims(
        full_name=" ".join((row["family_name"], row["middle_name"], row["given_name"])),
        birth_date=birth,
        gender=row["gender"].upper(),
        phone=f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}",
    )
    assert registry.match(number, full).all_matched
    wrong = AttributeClaims(
        full_name="Nguyễn Thị Lân",
        birth_date=birth + dt.timedelta(days=1),
        gender="male",
        phone="0900000000",
    )
    result = registry.match(number, wrong)
    assert result.found and not result.all_matched
    assert result.matched == {
        "full_name": False,
        "birth_date": False,
        "gender": False,
        "phone": False,
    }


def test_a_phone_claim_against_a_citizen_without_phone_does_not_match(
    registry: PopulationRegistry,
) -> None:
    row = demo("minor")
    assert row["phone"] == ""
    result = registry.match(row["personal_id_number"], AttributeClaims(phone="0912345678"))
    assert result.matched == {"phone": False}


@pytest.mark.parametrize("number", ["001190999999", "not-a-number"])
def test_match_of_an_unknown_number_is_not_found(registry: PopulationRegistry, number: str) -> None:
    result = registry.match(number, AttributeClaims(full_name="Nguyễn Văn An", gender="male"))
    assert not result.found and not result.all_matched
    assert result.matched == {"full_name": False, "gender": False}


def test_no_claims_never_count_as_all_matched(registry: PopulationRegistry) -> None:
    result = registry.match(demo("level2_adult")["personal_id_number"], AttributeClaims())
    assert result.found and result.matched == {} and not result.all_matched


def test_household_members_head_first_with_links_both_ways(registry: PopulationRegistry) -> None:
    head = demo("level2_adult")
    expected = {
        row["personal_id_number"]
        for row in read_csv("demo_citizens.csv")
        if row["household_id"] == head["household_id"]
    }
    members = registry.household_members(demo("minor")["personal_id_number"])
    assert {m.personal_id_number for m in members} == expected
    assert [m.relation_to_head for m in members] == ["head", "spouse", "child"]
    head_record, spouse, child = members
    assert head_record.spouse_id_number == spouse.personal_id_number
    assert spouse.spouse_id_number == head_record.personal_id_number
    assert {child.father_id_number, child.mother_id_number} == {
        head_record.personal_id_number,
        spouse.personal_id_number,
    }


def test_household_members_of_generated_citizens(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    sizes = Counter(r.household_id for r in everyone if r.household_id is not None)
    household_id, size = max(sizes.items(), key=lambda item: (item[1], item[0]))
    someone = next(r for r in everyone if r.household_id == household_id)
    members = registry.household_members(someone.personal_id_number)
    assert len(members) == size
    assert {m.household_id for m in members} == {household_id}
    assert members[0].relation_to_head == "head"


def test_household_members_of_a_citizen_without_household_or_unknown(
    registry: PopulationRegistry,
) -> None:
    row = demo("deceased")
    assert row["household_id"] == ""
    assert [
        m.personal_id_number for m in registry.household_members(row["personal_id_number"])
    ] == [row["personal_id_number"]]
    assert registry.household_members("001190999999") == []


def test_search_by_name_and_birth_date_ignores_unicode_form_and_case(
    registry: PopulationRegistry,
) -> None:
    row = demo("nfd_name")
    record = registry.get(row["personal_id_number"])
    assert record is not None
    composed = unicodedata.normalize("NFC", record.full_name)
    assert registry.search(composed.lower(), record.birth_date) == [record]
    assert registry.search(composed, record.birth_date + dt.timedelta(days=1)) == []
    assert registry.search("Không Có Ai", record.birth_date) == []


def test_search_finds_every_generated_namesake_born_that_day(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    someone = everyone[len(everyone) // 2]
    found = registry.search(someone.full_name, someone.birth_date)
    expected = sorted(
        (
            r
            for r in everyone
            if r.birth_date == someone.birth_date and r.full_name == someone.full_name
        ),
        key=lambda r: r.personal_id_number,
    )
    assert found == expected and someone in found


def test_statistics_agree_with_the_records(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    stats = registry.statistics(as_of=AS_OF)
    alive = [r for r in everyone if not r.is_deceased]
    ages = [r.age_on(AS_OF) for r in alive]
    with registry.engine.connect() as connection:
        households = connection.execute(
            sa.select(sa.func.count()).select_from(db.HOUSEHOLD_TABLE)
        ).scalar_one()
    surnames = Counter(unicodedata.normalize("NFC", r.family_name) for r in everyone)
    assert stats.as_of == AS_OF
    assert (stats.total, stats.alive, stats.deceased) == (
        len(everyone),
        len(alive),
        len(everyone) - len(alive),
    )
    assert (stats.male, stats.female) == (
        sum(r.gender == "male" for r in everyone),
        sum(r.gender == "female" for r in everyone),
    )
    assert stats.age_groups == {
        "0-14": sum(a < 15 for a in ages),
        "15-64": sum(15 <= a < 65 for a in ages),
        "65+": sum(a >= 65 for a in ages),
    }
    assert stats.by_current_unit == dict(
        sorted(
            Counter(unit_name(r.current_unit_code) for r in alive).items(),
            key=lambda item: -item[1],
        )
    ) and list(stats.by_current_unit.values()) == sorted(
        stats.by_current_unit.values(), reverse=True
    )
    assert stats.households == households
    housed = sum(r.household_id is not None for r in alive)
    assert stats.mean_household_size == pytest.approx(housed / households)
    assert dict(stats.top_surnames) == {name: surnames[name] for name, _ in stats.top_surnames}
    assert [n for _, n in stats.top_surnames] == sorted(surnames.values(), reverse=True)[:10]


def test_age_on_counts_completed_years() -> None:
    fields = dict.fromkeys(CitizenRecord.__dataclass_fields__)
    record = CitizenRecord(**{**fields, "birth_date": dt.date(2000, 2, 29)})
    assert record.age_on(dt.date(2018, 2, 28)) == 17
    assert record.age_on(dt.date(2018, 3, 1)) == 18
    assert record.age_on(dt.date(2000, 2, 29)) == 0


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("  NGUYỄN   Thị\tLan ", "nguyễn thị lan"),
        (nfd("Nguyễn Thị Ánh Tuyết"), "nguyễn thị ánh tuyết"),
        ("ĐẶNG", "đặng"),
    ],
)
def test_normalize_name(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized
    assert unicodedata.is_normalized("NFC", normalize_name(raw))


def test_from_url_refuses_a_missing_or_unseeded_database(tmp_path: Path) -> None:
    with pytest.raises(db.PopulationDatabaseError, match="no population database"):
        PopulationRegistry.from_url(f"sqlite:///{tmp_path / 'absent.db'}")
    empty = tmp_path / "empty.db"
    db.create_population_engine(f"sqlite:///{empty}", create=True).dispose()
    with pytest.raises(db.PopulationDatabaseError, match="holds no population"):
        PopulationRegistry.from_url(f"sqlite:///{empty}")


def test_get_reads_every_record_as_sqlalchemy_reads_it(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    # On SQLite get goes through the driver with the columns' own conversions: the
    # records (dates, nulls, booleans) must be the ones SQLAlchemy's select yields.
    for expected in everyone[:300]:
        assert registry.get(expected.personal_id_number) == expected


def test_a_population_database_that_fails_raises_sqlalchemys_error(tmp_path: Path) -> None:
    path = tmp_path / "population.db"
    sqlite3.connect(path).close()
    engine = db.create_population_engine(f"sqlite:///{path}")
    db.create_population_schema(engine)
    registry = PopulationRegistry(engine)
    assert registry.get("001203004567") is None
    with engine.begin() as connection:  # the test breaks the database
        connection.exec_driver_sql("DROP TABLE citizen")
    with pytest.raises(sa.exc.OperationalError):
        registry.get("001203004567")
    engine.dispose()


def test_lookups_from_many_threads_each_get_their_own_citizen(
    registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    chosen = everyone[:64]

    def look_up(record: CitizenRecord) -> CitizenRecord | None:
        return registry.get(record.personal_id_number)

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(look_up, chosen * 4))
    assert found == chosen * 4


@pytest.fixture
def own_sqlite_registry(seeded_url: str) -> Iterator[PopulationRegistry]:
    """A registry of its own over the seeded SQLite population (the driver-level lookup)."""
    if not seeded_url.startswith("sqlite"):
        pytest.skip("the driver-level lookup is SQLite's")
    registry = PopulationRegistry.from_url(seeded_url)
    yield registry
    registry.close()


def test_a_failed_lookup_is_an_operational_error_and_the_next_one_recovers(
    own_sqlite_registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    registry, first = own_sqlite_registry, everyone[0]
    table = db.CITIZEN_TABLE.name
    assert registry.get(first.personal_id_number) == first  # this thread's connection
    with registry.engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with pytest.raises(OperationalError):
            registry.get(first.personal_id_number)
    finally:
        with registry.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert registry.get(first.personal_id_number) == first


def test_disposing_the_engine_closes_the_lookup_connections_and_lookups_go_on(
    own_sqlite_registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    registry, first = own_sqlite_registry, everyone[0]
    assert registry.get(first.personal_id_number) == first
    registry.engine.dispose()
    assert registry.get(first.personal_id_number) == first  # a fresh connection


def _open_files_of(path: str) -> int:
    """How many of this process's file descriptors are open on ``path`` (Linux)."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.path.realpath(f"/proc/self/fd/{fd}") == target:
                count += 1
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_a_threads_lookup_connection_closes_when_the_thread_ends(
    own_sqlite_registry: PopulationRegistry, everyone: list[CitizenRecord]
) -> None:
    # A server's thread pool retires idle threads and starts new ones all day long (anyio
    # after ten idle seconds): their connections must not outlive them.
    registry, first = own_sqlite_registry, everyone[0]
    database = registry.engine.url.database or ""

    def look_up_in_a_thread_of_its_own() -> None:
        thread = threading.Thread(target=registry.get, args=(first.personal_id_number,))
        thread.start()
        thread.join()

    assert registry.get(first.personal_id_number) == first
    look_up_in_a_thread_of_its_own()  # the engine opens what it keeps open at its first use
    before = _open_files_of(database)
    for _ in range(20):
        look_up_in_a_thread_of_its_own()
    # The last thread's local storage goes a moment after join returns.
    deadline = time.monotonic() + 2
    while _open_files_of(database) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _open_files_of(database) == before
    assert registry.get(first.personal_id_number) == first
