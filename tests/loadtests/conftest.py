"""Fixtures: a small seeded population in a private data directory, no developer settings."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from identity_service.config import IdentitySettings
from population_db.loader import seed_population

CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
POPULATION = 1500


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must never pick up the developer's NATID_* variables."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def seeded_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A population database of POPULATION citizens, seeded once per test session."""
    path = tmp_path_factory.mktemp("population") / "population.db"
    seed_population(f"sqlite:///{path.as_posix()}", POPULATION, 7, None)
    return path


@pytest.fixture
def settings(tmp_path: Path, seeded_population: Path) -> IdentitySettings:
    return IdentitySettings(
        data_dir=tmp_path / "var",
        population_db_url=f"sqlite:///{seeded_population.as_posix()}",
        secret_key="load-test-secret",
        **CHEAP_ARGON2,
    )


@pytest.fixture
def load_test_environment(
    tmp_path: Path, seeded_population: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """NATID_* variables for the runner and the server it starts: a private data
    directory, the seeded population, cheap argon2. Returns the data directory."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("NATID_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NATID_POPULATION_DB_URL", f"sqlite:///{seeded_population.as_posix()}")
    monkeypatch.setenv("NATID_SECRET_KEY", "load-test-secret")
    for name, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(f"NATID_{name.upper()}", str(value))
    return data_dir


def locust_installed() -> bool:
    # find_spec, not import: importing Locust would patch this process with gevent.
    return importlib.util.find_spec("locust") is not None
