"""``natid loadtest``: one command from a data directory to a load-test report.

In order: seed a population if the configured database has none (or finish an
interrupted seed); register the load-test clients and provision test citizens' accounts
(``loadtests.provisioning``); measure one argon2id verify at the server's parameters (the
yardstick of a login); start the IdP (``natid serve --workers W`` on a free loopback port,
with the database and Redis settings of the environment); see which scenarios it offers;
run Locust headless for the duration with a progress line; read the server's CPU time
before and after; stop the server; write the report (``loadtests.report``) next to
Locust's CSV and HTML files and the server's log.

The server is started with a per-IP login rate limit high enough for one load generator:
every simulated citizen comes from 127.0.0.1, which the limit exists to stop.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from identity_service.accounts.passwords import PasswordHashing
from identity_service.config import IdentitySettings
from loadtests import scenarios_catalog
from loadtests.config import DIRECTORY_VARIABLE, THINK_TIME_VARIABLE
from loadtests.processes import IdpServer, free_port, tree_cpu_seconds
from loadtests.provisioning import provision_load_test
from loadtests.report import CpuUsage, Summary, build_summary, write_summary
from population_db import db as population_db
from population_db import loader

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
REPORTS_DIRECTORY = Path("loadtests") / "reports"
LOAD_TEST_DIRECTORY = "loadtest"
ARGON2_SAMPLES = 8
SERVER_RATE_LIMIT = "1000000000"  # logins per minute from one IP (the load generator)
LOCUST_GRACE_SECONDS = 60


class LoadTestError(Exception):
    """The load test cannot run; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class LoadTestOptions:
    duration: int
    users: int
    workers: int = 1
    tags: tuple[str, ...] = ()
    output: Path | None = None
    fail_p95_ms: float | None = None
    citizens: int = 10_000  # seeded only when there is no population yet
    accounts: int | None = None  # default: 10 per user, at least 500
    think_time: float = 1.0
    spawn_rate: float | None = None  # default: all users within the first second

    def account_count(self) -> int:
        return self.accounts if self.accounts is not None else max(500, 10 * self.users)


@dataclass
class LoadTestResult:
    directory: Path
    summary: Summary
    files: list[Path] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.summary.passed


def run_load_test(
    options: LoadTestOptions,
    *,
    console: Console,
    environ: Mapping[str, str] = os.environ,
) -> LoadTestResult:
    """Run the whole load test; ``LoadTestError`` if it cannot start."""
    settings = IdentitySettings()
    if options.workers > 1 and not settings.redis_url:
        raise LoadTestError(
            "--workers > 1 needs NATID_REDIS_URL (codes and sessions are shared through Redis)"
        )
    directory = options.output or REPORTS_DIRECTORY / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    directory.mkdir(parents=True, exist_ok=True)
    population = _ensure_population(settings.population_database_url(), options, console)
    provisioning_directory = settings.data_dir / LOAD_TEST_DIRECTORY
    with console.status("Provisioning load-test clients and accounts…"):
        provisioned = provision_load_test(settings, provisioning_directory, options.account_count())
    accounts = provisioned.accounts
    console.print(
        f"{len(accounts.credentials):,} load-test accounts ({accounts.created:,} new, "
        f"{accounts.accounts_per_second:,.0f}/s) and clients in {provisioning_directory}"
    )
    argon2_ms = argon2_verify_cpu_ms(settings)
    server_environment = _server_environment(environ)
    server = IdpServer(
        port=free_port(),
        workers=options.workers,
        environment=server_environment,
        log_path=directory / "server.log",
    )
    with console.status(f"Starting the IdP ({options.workers} worker(s))…"):
        server.start()
    try:
        tags = scenarios_catalog.select(server.url, options.tags)
        console.print(f"IdP on {server.url}; scenarios: {', '.join(tags)}")
        csv_prefix = directory / "locust"
        cpu = _run_locust(options, server, tags, csv_prefix, provisioning_directory, console)
    finally:
        server.stop()
    run_settings = {
        "duration_s": options.duration,
        "users": options.users,
        "server_workers": options.workers,
        "tags": " ".join(tags),
        "think_time_s": options.think_time,
        "citizens": population,
        "load_test_accounts": len(accounts.credentials),
        "identity_db": sa.make_url(settings.identity_database_url()).get_backend_name(),
        "population_db": sa.make_url(settings.population_database_url()).get_backend_name(),
        "redis": bool(settings.redis_url),
        "argon2": f"m={settings.argon2_memory_kib}KiB t={settings.argon2_time_cost} "
        f"p={settings.argon2_parallelism}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    summary = build_summary(
        csv_prefix,
        settings=run_settings,
        cpu=cpu,
        argon2_verify_ms=argon2_ms,
        fail_p95_ms=options.fail_p95_ms,
    )
    files = [*write_summary(summary, directory)]
    return LoadTestResult(directory, summary, files)


def argon2_verify_cpu_ms(settings: IdentitySettings, samples: int = ARGON2_SAMPLES) -> float:
    """CPU milliseconds of one argon2id verify at the server's parameters (median)."""
    passwords = PasswordHashing.from_settings(settings)
    stored = passwords.hash("argon2 yardstick password")
    timings = []
    for _ in range(samples):
        started = time.thread_time()
        passwords.verify(stored, "argon2 yardstick password")
        timings.append((time.thread_time() - started) * 1000)
    return sorted(timings)[len(timings) // 2]


def _ensure_population(url: str, options: LoadTestOptions, console: Console) -> int:
    """The population size; seeds ``options.citizens`` (or resumes) if needed."""
    engine = population_db.create_population_engine(url, create=True)
    try:
        run = None
        if population_db.has_population_schema(engine):
            with engine.connect() as connection:
                run = connection.execute(sa.select(population_db.SEED_RUN_TABLE)).first()
    finally:
        engine.dispose()
    if run is not None and run.status == "complete":
        return int(run.citizens_target)
    citizens, seed = (
        (options.citizens, 1) if run is None else (int(run.citizens_target), int(run.seed))
    )
    with Progress(
        TextColumn("Seeding"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("seed", total=citizens)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        loader.seed_population(url, citizens, seed, None, progress=report)
    return citizens


def _server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    environment = dict(environ)
    environment["NATID_IP_ATTEMPTS_PER_MINUTE"] = SERVER_RATE_LIMIT
    return environment


def _run_locust(
    options: LoadTestOptions,
    server: IdpServer,
    tags: list[str],
    csv_prefix: Path,
    provisioning_directory: Path,
    console: Console,
) -> CpuUsage:
    """Run Locust headless against ``server``; the CPU both sides used meanwhile."""
    rate = options.spawn_rate or options.users
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(options.users), "-r", f"{rate:g}", "-t", f"{options.duration}s",
        "--host", server.url, "--csv", str(csv_prefix),
        "--html", str(csv_prefix.with_name("locust.html")), "--only-summary",
        "--tags", *tags,
    ]  # fmt: skip
    environment = {
        **os.environ,
        DIRECTORY_VARIABLE: str(provisioning_directory.resolve()),
        THINK_TIME_VARIABLE: f"{options.think_time:g}",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH")])
        ),
    }
    log_path = csv_prefix.with_name("locust.log")
    server_before = tree_cpu_seconds(server.pid)
    # Locust's own CPU: what the children this process reaped used, before and after.
    children_before = _reaped_children_cpu_seconds()
    started = time.monotonic()
    with log_path.open("wb") as log:
        locust = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        _follow(locust, options, csv_prefix, console)
    wall = time.monotonic() - started
    server_cpu = tree_cpu_seconds(server.pid) - server_before
    generator_cpu = _reaped_children_cpu_seconds() - children_before
    if not Path(f"{csv_prefix}_stats.csv").exists():
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-5:])
        raise LoadTestError(f"Locust wrote no statistics (exit {locust.returncode}): {tail}")
    return CpuUsage(
        server_seconds=server_cpu, load_generator_seconds=generator_cpu, wall_seconds=wall
    )


def _reaped_children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _follow(
    locust: subprocess.Popen[bytes], options: LoadTestOptions, csv_prefix: Path, console: Console
) -> None:
    """Show progress until Locust exits (killed if it overstays the run time)."""
    deadline = time.monotonic() + options.duration + LOCUST_GRACE_SECONDS
    with Progress(
        TextColumn("Load test"), BarColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[live]}"), console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task("run", total=options.duration, live="starting…")
        started = time.monotonic()
        while locust.poll() is None:
            elapsed = min(time.monotonic() - started, options.duration)
            progress.update(task, completed=elapsed, live=_live_figures(csv_prefix))
            if time.monotonic() > deadline:
                locust.kill()
                locust.wait()
                raise LoadTestError("Locust did not stop after the run time; killed it")
            time.sleep(0.5)
        progress.update(task, completed=options.duration, live=_live_figures(csv_prefix))


def _live_figures(csv_prefix: Path) -> str:
    """Requests/s and failures from the last line of Locust's history file."""
    path = Path(f"{csv_prefix}_stats_history.csv")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]
    except OSError:
        return "starting…"
    if not rows:
        return "starting…"
    last: dict[str, Any] = rows[-1]
    return (
        f"{last['User Count']} users · {float(last['Requests/s']):,.0f} req/s · "
        f"{last['Total Request Count']} requests · {last['Total Failure Count']} failures"
    )
