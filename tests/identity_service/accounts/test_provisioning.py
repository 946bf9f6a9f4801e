"""Load-test accounts: who gets one, the shared hash, idempotence, the CLI's file."""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from identity_service.accounts import AccountService, AccountStatus, LoginFailedError
from identity_service.accounts.models import Account
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.provisioning import (
    LOAD_TEST_PASSWORD,
    ProvisioningError,
    provision_load_test_accounts,
)
from identity_service.cli.accounts import app
from population_db.db import CITIZEN_TABLE, create_population_engine
from population_db.identifiers import PersonalIdNumber

from .conftest import START, Citizen, CountingHasher, Population, _row

ACCOUNT = Account.__table__  # type: ignore[attr-defined]
Provision = Callable[..., list[str]]


@pytest.fixture
def provision(
    service: AccountService, hasher: CountingHasher, identity_engine: sa.Engine
) -> Provision:
    """Provision into the service's databases; returns the chosen ID numbers."""

    def run(count: int, **options: object) -> list[str]:
        result = provision_load_test_accounts(
            identity_engine, service.registry, PasswordHashing(hasher), count, now=START, **options
        )
        return [credential.personal_id_number for credential in result.credentials]

    return run


def _eligible(population: Population) -> list[str]:
    """Alive and 14 or older on START: everyone but the deceased and the 13-year-old."""
    citizens = (
        population.adult,
        population.second_adult,
        population.stored_nfd,
        population.turns_14_today,
    )
    return sorted(citizen.personal_id_number for citizen in citizens)


def _accounts(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(ACCOUNT).order_by(ACCOUNT.c.personal_id_number)))


def test_eligible_citizens_get_marked_accounts_sharing_one_hash(
    provision: Provision, population: Population, identity_engine: sa.Engine
) -> None:
    numbers = provision(4)
    assert numbers == _eligible(population)
    rows = _accounts(identity_engine)
    assert [row.personal_id_number for row in rows] == numbers
    assert all(row.load_test and row.level == 1 and row.status == "active" for row in rows)
    assert len({row.password_hash for row in rows}) == 1


def test_the_password_logs_in_with_a_real_verify(
    provision: Provision, service: AccountService, hasher: CountingHasher
) -> None:
    number = provision(1)[0]
    before = hasher.verifications
    account = service.authenticate(number, LOAD_TEST_PASSWORD, "192.0.2.1")
    assert account.personal_id_number == number
    assert hasher.verifications == before + 1
    with pytest.raises(LoginFailedError):
        service.authenticate(number, LOAD_TEST_PASSWORD + "x", "192.0.2.1")


def test_a_second_run_writes_nothing_and_returns_the_same_credentials(
    provision: Provision,
    service: AccountService,
    hasher: CountingHasher,
    identity_engine: sa.Engine,
) -> None:
    first = provision(3)
    hash_before = {row.password_hash for row in _accounts(identity_engine)}
    result = provision_load_test_accounts(
        identity_engine, service.registry, PasswordHashing(hasher), 3, now=START
    )
    assert result.created == 0
    assert [c.personal_id_number for c in result.credentials] == first
    assert {row.password_hash for row in _accounts(identity_engine)} == hash_before


def test_growing_the_count_adds_only_the_missing_accounts(
    provision: Provision,
    service: AccountService,
    hasher: CountingHasher,
    population: Population,
    identity_engine: sa.Engine,
) -> None:
    provision(2)
    result = provision_load_test_accounts(
        identity_engine, service.registry, PasswordHashing(hasher), 4, now=START
    )
    assert result.created == 2
    assert [c.personal_id_number for c in result.credentials] == _eligible(population)


def test_a_citizen_with_a_real_account_keeps_it(
    provision: Provision, service: AccountService, registered: Citizen
) -> None:
    numbers = provision(3)
    assert registered.personal_id_number not in numbers
    real = service.get(registered.personal_id_number)
    assert real is not None and not real.load_test
    with pytest.raises(ProvisioningError, match="only 3"):
        provision(4)


def test_demo_citizens_are_never_used(provision: Provision, population: Population) -> None:
    demo_number = PersonalIdNumber.build(1, 1980, "female", 999123).value
    engine = create_population_engine(population.url)
    with engine.begin() as connection:
        row = _row(demo_number, ("Võ", "Thị", "Demo"), dt.date(1980, 1, 1), "female", None)
        connection.execute(sa.insert(CITIZEN_TABLE), [row])
    engine.dispose()
    assert demo_number not in provision(4)
    with pytest.raises(ProvisioningError):
        provision(5)


def test_tampered_load_test_accounts_are_put_back(
    provision: Provision, service: AccountService
) -> None:
    first, second = provision(2)
    service.set_status(first, AccountStatus.LOCKED)
    service.set_password(second, "another password entirely")
    provision(2)
    for number in (first, second):
        service.authenticate(number, LOAD_TEST_PASSWORD, "192.0.2.7")


def test_other_passwords_are_possible_and_replace_the_shared_hash(
    provision: Provision, service: AccountService
) -> None:
    number = provision(1)[0]
    provision(1, password="a different load-test password")
    service.authenticate(number, "a different load-test password", "192.0.2.8")


def test_a_negative_count_is_refused(provision: Provision) -> None:
    with pytest.raises(ProvisioningError):
        provision(-1)


# --- natid accounts provision -----------------------------------------------------------


@pytest.fixture
def cli_environment(
    tmp_path: Path, population: Population, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NATID_POPULATION_DB_URL", population.url)
    monkeypatch.setenv("NATID_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("NATID_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("NATID_ARGON2_TIME_COST", "1")
    return tmp_path


def test_provision_command_writes_the_credentials_file(cli_environment: Path) -> None:
    output = cli_environment / "out" / "credentials.json"
    result = CliRunner().invoke(app, ["provision", "--count", "2", "--output", str(output)])
    assert result.exit_code == 0, result.output
    rows = json.loads(output.read_text(encoding="utf-8"))
    assert len(rows) == 2
    assert all(set(row) == {"personal_id_number", "password"} for row in rows)
    assert {row["password"] for row in rows} == {LOAD_TEST_PASSWORD}
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "2 load-test accounts (2 new)" in result.output


def test_provision_command_defaults_to_the_data_directory(cli_environment: Path) -> None:
    result = CliRunner().invoke(app, ["provision", "--count", "1"])
    assert result.exit_code == 0, result.output
    default = cli_environment / "loadtest" / "accounts.json"
    assert len(json.loads(default.read_text(encoding="utf-8"))) == 1


def test_provision_command_explains_a_too_small_population(cli_environment: Path) -> None:
    result = CliRunner().invoke(app, ["provision", "--count", "50"])
    assert result.exit_code == 1
    assert "seed a larger population" in result.output
    assert "Traceback" not in result.output
