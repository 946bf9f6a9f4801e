"""``natid loadtest`` as a command: options and one-line refusals before anything starts."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from identity_service.cli.loadtest import loadtest


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(loadtest)
    return app


def test_several_server_workers_need_redis(load_test_environment: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["--duration", "1", "--users", "1", "--workers", "2", "--output", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "NATID_REDIS_URL" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_scenario_is_refused_before_any_load(
    load_test_environment: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        _app(),
        ["--duration", "1", "--users", "1", "--tags", "teleport", "--output", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "unknown scenario 'teleport'" in result.output
    assert not (tmp_path / "locust_stats.csv").exists()


def test_the_documented_options_exist() -> None:
    result = CliRunner().invoke(_app(), ["--help"])
    assert result.exit_code == 0
    for option in ("--duration", "--users", "--workers", "--tags", "--output", "--fail-p95-ms"):
        assert option in result.output
