"""The ``natid population`` commands, driven through their Typer app (population_db.cli)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from population_db.cli import JSON_FIELDS, app
from population_db.registry import PopulationRegistry
from population_db.seeds import read_csv
from population_db.units import province_name, unit_name
from tests.population_db.conftest import SEEDED_CITIZENS

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_developer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def demo_number(role: str) -> str:
    return next(r for r in read_csv("demo_citizens.csv") if r["role"] == role)["personal_id_number"]


def test_seed_then_seed_again_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    first = invoke("seed", "--citizens", "900", "--seed", "5", "--batch-size", "200", "--db", url)
    assert first.exit_code == 0, first.output
    summary = first.stdout.strip()
    assert summary.startswith("Seeded: 900 citizens written") and "\n" not in summary
    assert "citizens/s" in summary
    again = invoke("seed", "--citizens", "900", "--seed", "5", "--db", url)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Already seeded: 900 citizens")


def test_seed_with_other_parameters_is_refused_until_forced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    assert invoke("seed", "--citizens", "300", "--seed", "5", "--db", url).exit_code == 0
    refused = invoke("seed", "--citizens", "300", "--seed", "6", "--db", url)
    assert_one_line_error(refused, "--force", "--seed 5")
    forced = invoke("seed", "--citizens", "300", "--seed", "6", "--db", url, "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith("Seeded: 300 citizens")


@pytest.mark.parametrize(
    ("citizens", "fragment"), [("0", "must be positive"), ("-3", "must be positive"), ("2", "demo")]
)
def test_seed_rejects_unusable_sizes(tmp_path: Path, citizens: str, fragment: str) -> None:
    result = invoke("seed", "--citizens", citizens, "--db", f"sqlite:///{tmp_path / 'p.db'}")
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "p.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["seed", "--citizens", "100"],
        ["stats"],
        ["show", "001185999001"],
        ["export", "--jsonl"],
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "mysql://someone@somewhere/db",
        "not a url",
        "postgresql://natid:s3cret@127.0.0.1:1/population",
    ],
)
def test_every_command_gives_a_one_line_error_for_a_bad_database_url(
    command: list[str], url: str
) -> None:
    result = invoke(*command, "--db", url)
    assert_one_line_error(result)
    assert "s3cret" not in result.stderr


def test_reading_a_database_that_does_not_exist_is_a_one_line_error(tmp_path: Path) -> None:
    result = invoke("stats", "--db", f"sqlite:///{tmp_path / 'absent.db'}")
    assert_one_line_error(result, "natid population seed")
    assert not (tmp_path / "absent.db").exists()


def test_show_json_is_the_export_line_of_the_same_citizen(seeded_url: str) -> None:
    number = demo_number("level2_adult")
    shown = invoke("show", number, "--db", seeded_url, "--json")
    assert shown.exit_code == 0, shown.output
    exported = invoke("export", "--jsonl", "--db", seeded_url)
    line = next(x for x in exported.stdout.splitlines() if number in x[:40])
    assert json.loads(shown.stdout) == json.loads(line)
    assert shown.stdout.strip() == line


def test_json_fields_names_formats_and_readable_names(seeded_url: str) -> None:
    number = demo_number("deceased")
    fields = json.loads(invoke("show", number, "--db", seeded_url, "--json").stdout)
    assert tuple(fields) == JSON_FIELDS
    registry = PopulationRegistry.from_url(seeded_url)
    record = registry.get(number)
    registry.close()
    assert record is not None
    assert fields["personal_id_number"] == number
    assert fields["birth_date"] == record.birth_date.isoformat()
    assert dt.date.fromisoformat(fields["date_of_death"]) == record.date_of_death
    assert fields["gender"] in ("male", "female")
    assert fields["current_unit_name"] == unit_name(record.current_unit_code)
    assert fields["permanent_unit_name"] == unit_name(record.permanent_unit_code)
    assert fields["birth_registration_province_name"] == province_name(
        record.birth_registration_province_code
    )
    ethnic = {int(r["code"]): r["name"] for r in read_csv("ethnic_groups.csv")}
    assert fields["ethnicity_name"] == ethnic[record.ethnicity_code]
    assert fields["temporary_unit_code"] is None and fields["temporary_unit_name"] is None


def test_show_as_a_table(seeded_url: str) -> None:
    result = invoke("show", demo_number("level1_adult"), "--db", seeded_url)
    assert result.exit_code == 0, result.output
    assert "current_unit_name" in result.stdout and "TP Hồ Chí Minh" in result.stdout


def test_show_of_an_unknown_number_masks_it(seeded_url: str) -> None:
    result = invoke("show", "001190999999", "--db", seeded_url)
    assert_one_line_error(result, "no citizen", "00********99")
    assert "001190999999" not in result.stderr


@pytest.mark.parametrize(
    ("number", "fragment"), [("12345", "12 digits"), ("00119099999x", "digits")]
)
def test_show_of_a_malformed_number(seeded_url: str, number: str, fragment: str) -> None:
    assert_one_line_error(invoke("show", number, "--db", seeded_url), "invalid ID number", fragment)


def test_export_streams_every_citizen_once_in_id_order(seeded_url: str, tmp_path: Path) -> None:
    to_stdout = invoke("export", "--jsonl", "--db", seeded_url)
    assert to_stdout.exit_code == 0, to_stdout.output
    lines = to_stdout.stdout.splitlines()
    numbers = [json.loads(line)["personal_id_number"] for line in lines]
    assert len(numbers) == SEEDED_CITIZENS
    assert numbers == sorted(set(numbers))
    assert all(tuple(json.loads(line)) == JSON_FIELDS for line in lines[:50])
    output = tmp_path / "citizens.jsonl"
    to_file = invoke("export", "--jsonl", "--db", seeded_url, "--output", str(output))
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert output.read_text(encoding="utf-8") == to_stdout.stdout


def test_export_needs_a_format(seeded_url: str) -> None:
    assert_one_line_error(invoke("export", "--db", seeded_url), "--jsonl")


def test_stats_json_and_tables(seeded_url: str) -> None:
    as_json = invoke("stats", "--db", seeded_url, "--json")
    assert as_json.exit_code == 0, as_json.output
    stats = json.loads(as_json.stdout)
    assert stats["total"] == SEEDED_CITIZENS
    assert stats["alive"] + stats["deceased"] == stats["total"] == stats["male"] + stats["female"]
    assert sum(stats["age_groups"].values()) == stats["alive"]
    assert sum(stats["by_current_unit"].values()) == stats["alive"]
    assert dt.date.fromisoformat(stats["as_of"]) == dt.date.today()
    tables = invoke("stats", "--db", seeded_url)
    assert tables.exit_code == 0, tables.output
    for title in ("Population as of", "Living citizens by current unit", "Top family names"):
        assert title in tables.stdout
    assert f"{SEEDED_CITIZENS:,}" in tables.stdout


def test_without_db_the_configured_data_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path / "data"))
    result = invoke("seed", "--citizens", "50")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "population.db").is_file()
    assert json.loads(invoke("stats", "--json").stdout)["total"] == 50
    monkeypatch.setenv("NATID_POPULATION_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert_one_line_error(invoke("stats"), "elsewhere.db")
