"""``natid loadtest``: seed, provision, start the IdP, run Locust headless, write a report.

A command function the ``natid`` application mounts; the work is ``loadtests.runner``'s
(imported when the command runs, so ``natid`` starts without it). Exit status 0 when
every request succeeded and every step met ``--fail-p95-ms``; 1 otherwise or when the
run could not start (one-line message on stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError


def loadtest(
    duration: Annotated[
        int, typer.Option("--duration", min=1, help="Seconds of load (after the set-up).")
    ] = 60,
    users: Annotated[int, typer.Option("--users", min=1, help="Simulated users (Locust -u).")] = 20,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, help="IdP worker processes (more than 1 needs Redis)."),
    ] = 1,
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tags",
            help="Scenarios to run (repeat or space-separate): login sso refresh "
            "client_credentials kyc introspection jwks portal; default: all the IdP offers.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Report directory (default loadtests/reports/<time>)."),
    ] = None,
    fail_p95_ms: Annotated[
        float | None,
        typer.Option("--fail-p95-ms", min=0, help="Fail if any step's p95 exceeds this."),
    ] = None,
    think_time: Annotated[
        float,
        typer.Option("--think-time", min=0, help="Mean seconds between a user's flows (0: none)."),
    ] = 1.0,
    citizens: Annotated[
        int, typer.Option("--citizens", min=1, help="Population to seed if there is none.")
    ] = 10_000,
    accounts: Annotated[
        int | None,
        typer.Option("--accounts", min=1, help="Load-test accounts (default 10 per user, ≥ 500)."),
    ] = None,
    locust_workers: Annotated[
        int,
        typer.Option(
            "--locust-workers", min=0, help="Run Locust distributed: a master and N workers."
        ),
    ] = 0,
    server_cpus: Annotated[
        str | None,
        typer.Option("--server-cpus", help="Pin the IdP to these CPUs (taskset -c syntax)."),
    ] = None,
    locust_cpus: Annotated[
        str | None,
        typer.Option("--locust-cpus", help="Pin Locust to these CPUs (taskset -c syntax)."),
    ] = None,
) -> None:
    """Load-test the authentication hot path with Locust and write a report."""
    from identity_service.accounts.provisioning import ProvisioningError
    from identity_service.db import IdentityDatabaseError
    from loadtests.locust_run import LocustRunError
    from loadtests.processes import ServerStartError, parse_cpus
    from loadtests.runner import LoadTestError, LoadTestOptions, run_load_test
    from loadtests.scenarios_catalog import ScenarioSelectionError
    from population_db.db import PopulationDatabaseError

    try:
        pinned = {
            name: None if text is None else parse_cpus(text)
            for name, text in (("server_cpus", server_cpus), ("locust_cpus", locust_cpus))
        }
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    options = LoadTestOptions(
        duration=duration,
        users=users,
        workers=workers,
        tags=tuple(tag for value in tags or [] for tag in value.replace(",", " ").split()),
        output=output,
        fail_p95_ms=fail_p95_ms,
        citizens=citizens,
        accounts=accounts,
        think_time=think_time,
        locust_workers=locust_workers,
        **pinned,
    )
    console = Console(highlight=False)
    failures = (
        LoadTestError,
        LocustRunError,
        ServerStartError,
        ScenarioSelectionError,
        ProvisioningError,
        IdentityDatabaseError,
        PopulationDatabaseError,
        SQLAlchemyError,
        OSError,
    )
    try:
        result = run_load_test(options, console=console)
    except failures as error:
        lines = str(error).strip().splitlines()
        typer.echo(f"error: {lines[0] if lines else error.__class__.__name__}", err=True)
        raise typer.Exit(code=1) from None
    summary = result.summary
    table = Table(title="Flows", title_justify="left")
    for column in ("flow", "count", "failures", "flows/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for row in summary.flows:
        table.add_row(
            row.name,
            f"{row.requests:,}",
            f"{row.failures:,}",
            f"{row.requests_per_second:.1f}",
            f"{row.p50_ms:g}",
            f"{row.p95_ms:g}",
            f"{row.p99_ms:g}",
        )
    console.print(table)
    per_operation = summary.cpu_per_operation()
    figures = [f"server CPU {summary.cpu.server_seconds:.2f} s"]
    for label, key in (
        ("per flow", "server_cpu_ms_per_flow"),
        ("per request", "server_cpu_ms_per_request"),
        (f"per {per_operation['measured_flow']}", "server_cpu_ms_per_measured_flow"),
    ):
        if per_operation[key] is not None:
            figures.append(f"{label} {per_operation[key]:.2f} ms")
    if per_operation["server_cpu_ms_per_login_outside_argon2"] is not None:
        outside = per_operation["server_cpu_ms_per_login_outside_argon2"]
        figures.append(f"outside argon2id {outside:.2f} ms")
    if per_operation["login_cpu_vs_argon2_verify"] is not None:
        figures.append(f"login = {per_operation['login_cpu_vs_argon2_verify']:.2f} × argon2id")
    console.print(" · ".join(figures))
    worker = summary.memory.largest if summary.memory is not None else None
    if worker is not None:
        console.print(
            f"largest server process: {worker.start_mib:.0f} → peak {worker.peak_mib:.0f} → "
            f"{worker.end_mib:.0f} MiB resident (growth {worker.growth_mib:+.1f} MiB)"
        )
    for miss in summary.threshold_misses:
        console.print(f"[red]threshold missed:[/red] {miss}")
    verdict = "[green]PASSED[/green]" if result.passed else "[red]FAILED[/red]"
    console.print(
        f"{verdict}: {summary.total_failures:,} failed requests; report in {result.directory}"
    )
    if not result.passed:
        raise typer.Exit(code=1)
