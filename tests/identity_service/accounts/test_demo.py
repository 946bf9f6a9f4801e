"""Demo accounts from seeds/: created once, always usable, passwords pass the policy."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa

from identity_service.accounts import AccountService
from identity_service.accounts.demo import load_demo_specs
from identity_service.accounts.policy import PasswordPolicy
from identity_service.accounts.second_factor import code_at
from identity_service.config import IdentitySettings
from identity_service.state import MemoryStateStore
from population_db.generator import demo_batch
from population_db.loader import seed_population
from population_db.registry import PopulationRegistry
from population_db.seeds import read_csv

from .conftest import CHEAP_ARGON2, FakeClock

IP = "198.51.100.7"


@pytest.fixture
def demo_service(tmp_path: Path, identity_engine: sa.Engine, clock: FakeClock) -> AccountService:
    url = f"sqlite:///{(tmp_path / 'demo-population.db').as_posix()}"
    seed_population(url, citizens=len(demo_batch().citizens), seed=7)
    settings = IdentitySettings(
        data_dir=tmp_path, population_db_url=url, secret_key="demo-test-secret", **CHEAP_ARGON2
    )
    registry = PopulationRegistry.from_url(url)
    return AccountService(identity_engine, registry, MemoryStateStore(), settings, clock=clock)


def test_every_demo_row_with_a_level_gets_credentials() -> None:
    rows = read_csv("demo_citizens.csv")
    with_level = {r["personal_id_number"] for r in rows if r.get("account_level") in ("1", "2")}
    specs = load_demo_specs()
    assert {spec.personal_id_number for spec in specs} == with_level
    assert any(spec.level == 2 and spec.totp_secret for spec in specs)


def test_demo_passwords_pass_the_policy() -> None:
    policy = PasswordPolicy.from_seeds()
    rows = {r["personal_id_number"]: r for r in read_csv("demo_citizens.csv")}
    for spec in load_demo_specs():
        birth_date = dt.date.fromisoformat(rows[spec.personal_id_number]["birth_date"])
        policy.check(
            spec.password, personal_id_number=spec.personal_id_number, birth_date=birth_date
        )


def test_demo_accounts_log_in_and_seeding_is_idempotent(
    demo_service: AccountService, clock: FakeClock
) -> None:
    first = demo_service.ensure_demo_accounts()
    second = demo_service.ensure_demo_accounts()
    assert first == second
    assert {c.level for c in first} == {1, 2}
    for credential in first:
        account = demo_service.authenticate(credential.personal_id_number, credential.password, IP)
        assert account.level == credential.level
        if credential.level == 2:
            assert credential.totp_secret
            demo_service.verify_totp(
                credential.personal_id_number, code_at(credential.totp_secret, clock()), IP
            )
        else:
            assert credential.totp_secret is None
        assert credential.full_name
        assert unicodedata.is_normalized("NFC", credential.full_name)
        assert "totp_secret" in credential.as_json() or credential.level == 1


def test_demo_accounts_are_put_back_to_their_known_credentials(
    demo_service: AccountService,
) -> None:
    credentials = demo_service.ensure_demo_accounts()
    level2 = next(c for c in credentials if c.level == 2)
    demo_service.set_password(level2.personal_id_number, "someone changed it")
    demo_service.upgrade_to_level2(level2.personal_id_number)  # a different authenticator
    demo_service.ensure_demo_accounts()
    account = demo_service.get(level2.personal_id_number)
    assert account is not None
    assert demo_service.password_matches(account, level2.password)
    assert demo_service.totp_secret(account) == level2.totp_secret
