"""The report: Locust's CSV statistics, CPU per operation, thresholds, Markdown and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loadtests.report import (
    ENDED_THREADS,
    CpuUsage,
    ServerHashing,
    build_summary,
    render_markdown,
    write_summary,
)

STATS_HEADER = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time",
    "Average Response Time", "Min Response Time", "Max Response Time", "Average Content Size",
    "Requests/s", "Failures/s", "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%",
    "99.9%", "99.99%", "100%",
]  # fmt: skip


def _stats_row(kind: str, name: str, count: int, failures: int, p95: float) -> dict[str, str]:
    row = dict.fromkeys(STATS_HEADER, "0")
    row.update(
        {
            "Type": kind,
            "Name": name,
            "Request Count": str(count),
            "Failure Count": str(failures),
            "Requests/s": f"{count / 10:.3f}",
            "50%": str(p95 / 2),
            "95%": str(p95),
            "99%": str(p95 * 1.5),
            "Max Response Time": str(p95 * 2),
        }
    )
    return row


def _write_run(prefix: Path, rows: list[dict[str, str]], failures: list[list[str]]) -> None:
    with Path(f"{prefix}_stats.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, STATS_HEADER)
        writer.writeheader()
        writer.writerows(rows)
        writer.writerow(_stats_row("", "Aggregated", 999, 0, 1))
    with Path(f"{prefix}_failures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Name", "Error", "Occurrences"])
        writer.writerows(failures)


CPU = CpuUsage(server_seconds=2.0, load_generator_seconds=1.0, wall_seconds=10.0)


def test_a_login_only_run_is_set_against_argon2(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(
        prefix,
        [
            _stats_row("flow", "citizen login", 100, 0, 120),
            _stats_row("GET", "login: authorize", 100, 0, 5),
            _stats_row("POST", "login: submit password", 100, 0, 60),
            _stats_row("portal-side", "verify ID token (cached JWKS)", 100, 0, 1),
        ],
        [],
    )
    summary = build_summary(
        prefix, settings={"users": 5}, cpu=CPU, argon2_verify_ms=16.0, fail_p95_ms=None
    )
    figures = summary.cpu_per_operation()
    assert figures["server_cpu_ms_per_flow"] == pytest.approx(2000 / 100)
    assert figures["server_cpu_ms_per_request"] == pytest.approx(2000 / 200)
    assert figures["server_cpu_ms_per_login"] == pytest.approx(20.0)
    assert figures["login_cpu_vs_argon2_verify"] == pytest.approx(20.0 / 16.0)
    assert summary.passed
    assert [row.name for row in summary.steps] == ["login: authorize", "login: submit password"]
    assert [row.kind for row in summary.portal_side] == ["portal-side"]


def test_the_servers_cpu_is_shown_by_thread(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(prefix, [_stats_row("flow", "citizen login", 100, 0, 120)], [])
    threads = {"main": 0.5, "natid-argon2": 1.4, ENDED_THREADS: 0.1}
    summary = build_summary(
        prefix,
        settings={},
        cpu=CPU,
        argon2_verify_ms=None,
        fail_p95_ms=None,
        server_threads=threads,
    )
    markdown = render_markdown(summary)
    section = markdown[markdown.index("## Server CPU by thread") :]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:4]
    # Largest first, with its share of the three and its CPU per successful flow.
    assert rows == [
        "| natid-argon2 (password hashing) | 1.40 | 70% | 14.00 |",
        "| main (event loop) | 0.50 | 25% | 5.00 |",
        f"| {ENDED_THREADS} | 0.10 | 5% | 1.00 |",
    ]
    paths = write_summary(summary, tmp_path)
    assert json.loads(paths[0].read_text())["server_threads"] == threads


def test_a_login_is_set_against_argon2_as_the_server_ran_it(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(
        prefix,
        [
            _stats_row("flow", "citizen login", 100, 0, 120),
            _stats_row("POST", "login: submit password", 100, 0, 60),
        ],
        [],
    )
    # 100 logins and 5 other verifies (wrong passwords of setup) at 15 ms each.
    hashing = ServerHashing(hashes=105, cpu_seconds=1.575)
    summary = build_summary(
        prefix,
        settings={},
        cpu=CPU,
        argon2_verify_ms=25.0,  # the runner's own yardstick, on a busier moment
        fail_p95_ms=None,
        server_hashing=hashing,
    )
    figures = summary.cpu_per_operation()
    assert figures["argon2id_verify_ms_in_server"] == pytest.approx(15.0)
    assert figures["login_cpu_vs_argon2_verify"] == pytest.approx(20.0 / 15.0)
    assert figures["server_cpu_ms_per_login_outside_argon2"] == pytest.approx(20.0 - 1.05 * 15)
    markdown = render_markdown(summary)
    assert "argon2id in the server during the load: 105 hashes and verifies, 15.00 ms" in markdown
    assert "- login / argon2id verify: **1.33 ×**" in markdown
    assert summary.as_json()["server_hashing"] == {"hashes": 105, "cpu_seconds": 1.575}


def test_a_mix_has_no_per_login_figure(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(
        prefix,
        [
            _stats_row("flow", "citizen login", 10, 0, 100),
            _stats_row("flow", "sso login", 30, 0, 20),
            _stats_row("GET", "sso: authorize", 40, 0, 5),
        ],
        [],
    )
    summary = build_summary(prefix, settings={}, cpu=CPU, argon2_verify_ms=16.0, fail_p95_ms=None)
    figures = summary.cpu_per_operation()
    assert figures["server_cpu_ms_per_flow"] == pytest.approx(2000 / 40)
    assert figures["server_cpu_ms_per_login"] is None
    assert figures["login_cpu_vs_argon2_verify"] is None


def test_setup_flows_are_amortised_into_the_measured_flow(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(
        prefix,
        [
            _stats_row("flow", "setup: sso first login", 4, 0, 100),
            _stats_row("flow", "sso login", 96, 1, 20),
            _stats_row("GET", "sso: authorize", 100, 1, 5),
        ],
        [],
    )
    summary = build_summary(prefix, settings={}, cpu=CPU, argon2_verify_ms=16.0, fail_p95_ms=None)
    figures = summary.cpu_per_operation()
    assert figures["measured_flow"] == "sso login"
    assert figures["server_cpu_ms_per_measured_flow"] == pytest.approx(2000 / 95)
    assert figures["server_cpu_ms_per_login"] is None
    assert "- per sso login: " in write_summary(summary, tmp_path)[1].read_text()


def test_failures_and_slow_steps_fail_the_run(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(
        prefix,
        [
            _stats_row("flow", "citizen login", 10, 2, 300),
            _stats_row("POST", "login: submit password", 10, 2, 250),
            _stats_row("GET", "login: authorize", 10, 0, 20),
        ],
        [["POST", "login: submit password", "expected HTTP 303, got 429", "2"]],
    )
    summary = build_summary(prefix, settings={}, cpu=CPU, argon2_verify_ms=None, fail_p95_ms=100)
    assert not summary.passed
    assert summary.total_failures == 4
    assert summary.threshold_misses == ["POST login: submit password: p95 250 ms > 100 ms"]
    assert summary.failures[0]["occurrences"] == 2
    json_path, markdown_path = write_summary(summary, tmp_path)
    document = json.loads(json_path.read_text())
    assert document["passed"] is False and document["total_failures"] == 4
    markdown = markdown_path.read_text()
    assert "**FAILED**" in markdown and "got 429" in markdown
    assert "| POST login: submit password | 10 | 2 |" in markdown


def test_a_run_without_requests_does_not_pass(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(prefix, [], [])
    summary = build_summary(prefix, settings={}, cpu=CPU, argon2_verify_ms=None, fail_p95_ms=None)
    assert not summary.passed
    assert summary.cpu_per_operation()["server_cpu_ms_per_flow"] is None
