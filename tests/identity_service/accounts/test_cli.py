"""``natid accounts``: register, upgrade, demo --json, show, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from identity_service.cli.accounts import app
from population_db.generator import demo_batch
from population_db.loader import seed_population

from .conftest import GOOD_PASSWORD, Population

runner = CliRunner()


@pytest.fixture
def environment(
    tmp_path: Path, population: Population, monkeypatch: pytest.MonkeyPatch
) -> Population:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NATID_POPULATION_DB_URL", population.url)
    monkeypatch.setenv("NATID_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("NATID_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("NATID_ARGON2_TIME_COST", "1")
    return population


def _register_args(population: Population, password: str = GOOD_PASSWORD) -> list[str]:
    citizen = population.adult
    return [
        "register",
        "--personal-id-number",
        citizen.personal_id_number,
        "--full-name",
        citizen.full_name,
        "--birth-date",
        citizen.birth_date.isoformat(),
        "--phone",
        citizen.phone,
        "--password",
        password,
    ]


def test_register_with_flags_then_show(environment: Population) -> None:
    result = runner.invoke(app, _register_args(environment))
    assert result.exit_code == 0, result.output
    number = environment.adult.personal_id_number
    assert number not in result.output  # masked
    shown = runner.invoke(app, ["show", number])
    assert shown.exit_code == 0
    assert "level: 1" in shown.output and "status: active" in shown.output
    assert "argon2" not in shown.output


def test_register_prompts_for_everything(environment: Population) -> None:
    citizen = environment.adult
    answers = "\n".join(
        [
            citizen.personal_id_number,
            citizen.full_name,
            citizen.birth_date.isoformat(),
            citizen.phone,
            GOOD_PASSWORD,
            GOOD_PASSWORD,
        ]
    )
    result = runner.invoke(app, ["register"], input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert GOOD_PASSWORD not in result.output  # the password prompt hides the input


def test_register_errors_are_one_line(environment: Population) -> None:
    result = runner.invoke(app, _register_args(environment, password="password"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "common" in result.output
    runner.invoke(app, _register_args(environment))
    again = runner.invoke(app, _register_args(environment))
    assert again.exit_code == 1 and "already" in again.output


def test_upgrade_prints_the_otpauth_uri(environment: Population) -> None:
    runner.invoke(app, _register_args(environment))
    result = runner.invoke(app, ["upgrade", environment.adult.personal_id_number, "--level", "2"])
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output and "issuer=natid" in result.output
    shown = runner.invoke(app, ["show", environment.adult.personal_id_number])
    assert "level: 2" in shown.output and "authenticator bound: yes" in shown.output


def test_upgrade_and_show_without_account_fail(environment: Population) -> None:
    number = environment.second_adult.personal_id_number
    for args in (["upgrade", number, "--level", "2"], ["show", number]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "no e-id account" in result.output.lower()


def test_demo_json_is_exactly_the_credentials_and_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{(tmp_path / 'population.db').as_posix()}"
    seed_population(url, citizens=len(demo_batch().citizens), seed=3)
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NATID_POPULATION_DB_URL", url)
    monkeypatch.setenv("NATID_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("NATID_ARGON2_TIME_COST", "1")
    first = runner.invoke(app, ["demo", "--json"])
    assert first.exit_code == 0, first.output
    credentials = json.loads(first.output)
    second = json.loads(runner.invoke(app, ["demo", "--json"]).output)
    assert credentials == second
    assert {c["level"] for c in credentials} == {1, 2}
    for credential in credentials:
        expected = {"personal_id_number", "password", "level", "full_name"}
        if credential["level"] == 2:
            expected.add("totp_secret")
        assert set(credential) == expected


def test_missing_population_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
