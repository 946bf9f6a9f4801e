"""Locust's distributed mode on one machine: a master (``--master --expect-workers 1``)
and one worker (``--worker``) load the IdP together through the runner."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.runner import LoadTestOptions, run_load_test

from .conftest import locust_installed

pytestmark = pytest.mark.skipif(not locust_installed(), reason="locust is not installed (dev)")


def test_a_master_and_a_worker_run_a_load_test(tmp_path: Path, load_test_environment: Path) -> None:
    result = run_load_test(
        LoadTestOptions(
            duration=2,
            users=2,
            think_time=0.1,
            accounts=20,
            tags=("login",),
            locust_workers=1,
            output=tmp_path / "report",
        ),
        console=Console(file=io.StringIO()),
    )
    assert result.summary.total_failures == 0, result.summary.failures
    assert result.passed
    assert [row.name for row in result.summary.flows] == ["citizen login"]
    worker_log = (result.directory / "locust-worker-0.log").read_text()
    master_log = (result.directory / "locust.log").read_text()
    assert "Got quit message from master" in worker_log
    assert "1 workers connected" in master_log
