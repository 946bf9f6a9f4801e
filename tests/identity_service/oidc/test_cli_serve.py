"""``natid serve``: refuses what would break, then hands uvicorn the app factory."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from identity_service.app import app_from_environment
from identity_service.cli import serve as serve_module
from identity_service.config import IdentitySettings

runner = CliRunner()


@pytest.fixture
def command() -> typer.Typer:
    application = typer.Typer()
    application.command()(serve_module.serve)
    return application


@pytest.fixture
def environment(settings: IdentitySettings, monkeypatch: pytest.MonkeyPatch) -> IdentitySettings:
    monkeypatch.setenv("NATID_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NATID_IDENTITY_DB_URL", settings.identity_database_url())
    monkeypatch.setenv("NATID_POPULATION_DB_URL", settings.population_database_url())
    monkeypatch.setenv("NATID_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("NATID_KEY_PASSPHRASE", settings.key_passphrase or "")
    return settings


def test_serve_runs_uvicorn_with_the_factory(
    command: typer.Typer, environment: IdentitySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    result = runner.invoke(command, ["--host", "127.0.0.1", "--port", "8123"])
    assert result.exit_code == 0, result.output
    ((target, options),) = calls
    assert target == "identity_service.app:app_from_environment"
    assert options["factory"] is True and options["port"] == 8123 and options["workers"] == 1


def test_the_factory_builds_the_app_from_the_environment(environment: IdentitySettings) -> None:
    gc.unfreeze()
    try:
        app = app_from_environment()
        # What exists once the app is built is left out of the collector's full passes.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # this process is pytest's, not a server's
    assert isinstance(app, FastAPI)
    assert app.state.services.settings.data_dir == environment.data_dir
    app.state.services.identity_engine.dispose()
    app.state.services.population.close()


def test_several_workers_need_redis(
    command: typer.Typer, environment: IdentitySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: pytest.fail("started"))
    result = runner.invoke(command, ["--workers", "2"])
    assert result.exit_code == 1
    assert "NATID_REDIS_URL" in result.output


def test_a_missing_population_database_is_one_line(
    command: typer.Typer,
    environment: IdentitySettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("NATID_POPULATION_DB_URL", f"sqlite:///{tmp_path / 'nothing.db'}")
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: pytest.fail("started"))
    result = runner.invoke(command, [])
    assert result.exit_code == 1
    assert "natid population seed" in result.output
    assert "Traceback" not in result.output


def test_a_port_that_does_not_match_the_local_issuer_is_pointed_out(
    command: typer.Typer, environment: IdentitySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATID_ISSUER", "http://127.0.0.1:8000")
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: None)
    mismatched = runner.invoke(command, ["--port", "8765"])
    matching = runner.invoke(command, ["--port", "8000"])
    assert mismatched.exit_code == matching.exit_code == 0
    assert "NATID_ISSUER" in mismatched.output
    assert "NATID_ISSUER" not in matching.output
