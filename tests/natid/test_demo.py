"""``natid demo``: seeds once, gives demo citizens accounts, prints how to log in."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from natid.cli import build_app


@pytest.fixture
def demo_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NATID_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("NATID_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("NATID_KEY_PASSPHRASE", "test passphrase")
    return tmp_path


def test_demo_seeds_once_and_prints_credentials(demo_environment: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(build_app(), ["demo", "--citizens", "3000", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert (demo_environment / "population.db").exists()
    assert "3,000 citizens" in first.output
    assert "001185999001" in first.output and "Demo-Level2-2025!" in first.output
    assert "/.well-known/openid-configuration" in first.output

    second = runner.invoke(build_app(), ["demo", "--citizens", "5000", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "already seeded" in second.output
    assert "3,000 citizens" in second.output  # the existing population is kept


def test_demo_reports_a_taken_port_before_starting_anything(
    demo_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as occupied:
        occupied.bind(("127.0.0.1", 0))
        occupied.listen()
        port = occupied.getsockname()[1]
        monkeypatch.setenv("NATID_ISSUER", f"http://127.0.0.1:{port}")
        result = CliRunner().invoke(build_app(), ["demo", "--citizens", "3000"])
    assert result.exit_code == 1
    assert f"IdP (127.0.0.1:{port})" in result.output
    assert "port already in use" in result.output
