"""A real load test, end to end and short: the runner provisions (the population is
seeded already), starts ``natid serve`` on a free port, runs Locust headless for two
seconds and writes the report. Every request must succeed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.runner import LoadTestOptions, run_load_test

from .conftest import locust_installed

pytestmark = pytest.mark.skipif(not locust_installed(), reason="locust is not installed (dev)")
REPORT_FILES = (
    "locust_stats.csv",
    "locust_failures.csv",
    "locust_stats_history.csv",
    "locust.html",
    "summary.json",
    "summary.md",
    "server.log",
)


def test_a_short_load_test_passes_and_reports(tmp_path: Path, load_test_environment: Path) -> None:
    output = io.StringIO()
    result = run_load_test(
        LoadTestOptions(
            duration=2, users=3, think_time=0.1, accounts=30, output=tmp_path / "report"
        ),
        console=Console(file=output, width=120),
    )
    summary = result.summary
    assert summary.total_failures == 0, summary.failures
    assert result.passed
    for name in REPORT_FILES:
        assert (result.directory / name).is_file(), name
    document = json.loads((result.directory / "summary.json").read_text())
    flows = {row["name"]: row for row in document["flows"]}
    assert flows["citizen login"]["requests"] > 0
    assert document["cpu"]["server_seconds"] > 0
    assert document["server_cpu_ms_per_flow"] > 0
    assert max(process["peak_mib"] for process in document["memory"]["processes"]) > 20
    # The server's CPU by thread, adding up to its CPU. (The cheap hashes of this short run
    # may take less than the kernel's 10 ms accounting tick: the named threads' own
    # figures are tested in test_processes and test_native_threads.)
    threads = document["server_threads"]
    assert threads["main"] > 0
    assert sum(threads.values()) == pytest.approx(document["cpu"]["server_seconds"], abs=0.02)
    assert "PASSED" in (result.directory / "summary.md").read_text()
    assert "scenarios: login" in output.getvalue()
    # The credentials Locust read came from the data directory's provisioning.
    assert (load_test_environment / "loadtest" / "accounts.json").is_file()
