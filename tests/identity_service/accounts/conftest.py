"""Fixtures: a small real population in SQLite, cheap argon2, a fake clock, both stores."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import argon2
import pytest
import redis
import sqlalchemy as sa

from identity_service.accounts import AccountService
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.policy import PasswordPolicy
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.state import MemoryStateStore, RedisStateStore, StateStore
from population_db.db import CITIZEN_TABLE, create_population_engine, create_population_schema
from population_db.identifiers import PersonalIdNumber
from population_db.registry import PopulationRegistry

# 10:00 on 1 June 2025 in Vietnam (UTC+7).
START = dt.datetime(2025, 6, 1, 3, 0, tzinfo=dt.UTC).timestamp()
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
COMMON_PASSWORDS = frozenset({"password", "12345678", "iloveyou", "matkhau123", "qwertyuiop"})


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must never pick up the developer's NATID_* variables."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Citizen:
    personal_id_number: str
    full_name: str
    birth_date: dt.date
    phone: str


def _number(birth_year: int, gender: str, random_part: int) -> str:
    return PersonalIdNumber.build(1, birth_year, gender, random_part).value


def _row(
    number: str,
    names: tuple[str, str | None, str],
    birth_date: dt.date,
    gender: str,
    phone: str | None,
    *,
    date_of_death: dt.date | None = None,
    stored_form: str = "NFC",
) -> dict[str, object]:
    family, middle, given = (
        unicodedata.normalize(stored_form, part) if part else part for part in names
    )
    return {
        "personal_id_number": number,
        "family_name": family,
        "middle_name": middle,
        "given_name": given,
        "full_name": " ".join(part for part in (family, middle, given) if part),
        "birth_date": birth_date,
        "gender": gender,
        "birth_place_province_code": 1,
        "birth_registration_province_code": 1,
        "hometown_province_code": 1,
        "ethnicity_code": 1,
        "religion_code": 0,
        "nationality": "VN",
        "permanent_unit_code": 1,
        "permanent_address": "Số 1 Phố Huế, Hà Nội",
        "current_unit_code": 1,
        "marital_status": "single",
        "phone": phone,
        "date_of_death": date_of_death,
    }


@dataclass(frozen=True)
class Population:
    url: str
    adult: Citizen  # alive, 35, registered phone
    second_adult: Citizen
    stored_nfd: Citizen  # the record's name is stored decomposed (NFD)
    turns_14_today: Citizen
    turns_14_tomorrow: Citizen
    deceased: Citizen


def _citizen(row: dict[str, object]) -> Citizen:
    return Citizen(
        personal_id_number=str(row["personal_id_number"]),
        full_name=unicodedata.normalize("NFC", str(row["full_name"])),
        birth_date=row["birth_date"],  # type: ignore[arg-type]
        phone=str(row["phone"]),
    )


@pytest.fixture
def population(tmp_path: Path) -> Population:
    rows = {
        "adult": _row(
            _number(1990, "female", 123456),
            ("Nguyễn", "Thị", "Lan"),
            dt.date(1990, 3, 15),
            "female",
            "0912345678",
        ),
        "second_adult": _row(
            _number(1985, "male", 222333),
            ("Lê", "Văn", "Hùng"),
            dt.date(1985, 11, 2),
            "male",
            "0987654321",
        ),
        "stored_nfd": _row(
            _number(1978, "male", 444555),
            ("Trần", "Văn", "Đức"),
            dt.date(1978, 7, 9),
            "male",
            "0903111222",
            stored_form="NFD",
        ),
        "turns_14_today": _row(
            _number(2011, "female", 100001),
            ("Phạm", "Ngọc", "Ánh"),
            dt.date(2011, 6, 1),
            "female",
            "0911000111",
        ),
        "turns_14_tomorrow": _row(
            _number(2011, "male", 100002),
            ("Phạm", "Minh", "Khôi"),
            dt.date(2011, 6, 2),
            "male",
            "0911000222",
        ),
        "deceased": _row(
            _number(1950, "male", 900900),
            ("Hoàng", "Văn", "Tư"),
            dt.date(1950, 1, 20),
            "male",
            "0913999888",
            date_of_death=dt.date(2024, 12, 1),
        ),
    }
    url = f"sqlite:///{(tmp_path / 'population.db').as_posix()}"
    engine = create_population_engine(url, create=True)
    create_population_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(CITIZEN_TABLE), list(rows.values()))
    engine.dispose()
    return Population(url=url, **{name: _citizen(row) for name, row in rows.items()})


@pytest.fixture
def settings(tmp_path: Path, population: Population) -> IdentitySettings:
    return IdentitySettings(
        data_dir=tmp_path,
        identity_db_url=f"sqlite:///{(tmp_path / 'identity.db').as_posix()}",
        population_db_url=population.url,
        secret_key="test-server-secret",
        **CHEAP_ARGON2,
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def state(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStateStore()
        return
    url = os.environ.get("NATID_TEST_REDIS_URL")
    if not url:
        pytest.skip("NATID_TEST_REDIS_URL is not set")
    prefix = f"natid_test:{uuid.uuid4().hex}:"
    store = RedisStateStore.from_url(url, prefix=prefix)
    yield store
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()
    store.close()


class CountingHasher(argon2.PasswordHasher):
    """The real argon2 hasher, counting verifications."""

    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(settings: IdentitySettings) -> CountingHasher:
    return CountingHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity_engine(settings: IdentitySettings) -> Iterator[sa.Engine]:
    engine = create_identity_engine(settings.identity_database_url())
    create_identity_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(population: Population) -> Iterator[PopulationRegistry]:
    registry = PopulationRegistry.from_url(population.url)
    yield registry
    registry.close()


@pytest.fixture
def service(
    identity_engine: sa.Engine,
    registry: PopulationRegistry,
    state: StateStore,
    settings: IdentitySettings,
    clock: FakeClock,
    hasher: CountingHasher,
) -> AccountService:
    return AccountService(
        identity_engine,
        registry,
        state,
        settings,
        clock=clock,
        passwords=PasswordHashing(hasher),
        policy=PasswordPolicy(COMMON_PASSWORDS),
    )


GOOD_PASSWORD = "mây trắng bay qua đồi"  # a passphrase with Vietnamese diacritics


@pytest.fixture
def registered(service: AccountService, population: Population) -> Citizen:
    """The adult citizen with a level-1 account whose password is GOOD_PASSWORD."""
    citizen = population.adult
    service.register(
        citizen.personal_id_number,
        citizen.full_name,
        citizen.birth_date,
        citizen.phone,
        GOOD_PASSWORD,
    )
    return citizen
