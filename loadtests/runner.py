"""``natid loadtest``: one command from a data directory to a load-test report.

In order: seed a population if the configured database has none (or finish an
interrupted seed); register the load-test clients and provision test citizens' accounts
(``loadtests.provisioning``); measure one argon2id verify at the server's parameters (the
yardstick of a login); start the IdP (``natid serve --workers W`` on a free loopback port,
with the database and Redis settings of the environment); see which scenarios it offers;
run Locust headless for the duration with a progress line; read the server's CPU time
before and after and sample its processes' resident memory meanwhile; stop the server;
write the report (``loadtests.report``) next to Locust's CSV and HTML files and the
server's log.

The server is started with limits that a load generator would otherwise hit by design:
the per-IP login rate limit (every simulated citizen comes from 127.0.0.1) and the e-KYC
per-client burst limit and daily quota (one load-test bank makes every check).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from identity_service.accounts.passwords import argon2_hasher
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from loadtests import scenarios_catalog
from loadtests.locust_run import LocustRun, run_locust
from loadtests.memory import MemorySampler
from loadtests.processes import (
    IdpServer,
    free_port,
    thread_cpu_seconds,
    tree_cpu_seconds,
    tree_thread_ticks,
)
from loadtests.provisioning import provision_load_test
from loadtests.report import ENDED_THREADS, CpuUsage, Summary, build_summary, write_summary
from loadtests.server_metrics import difference, password_hashing
from population_db import db as population_db
from population_db import loader

REPORTS_DIRECTORY = Path("loadtests") / "reports"
LOAD_TEST_DIRECTORY = "loadtest"
ARGON2_SAMPLES = 8
# Limits lifted for the load generator (see the module docstring); everything else is as
# configured.
SERVER_LIMITS = {
    "NATID_IP_ATTEMPTS_PER_MINUTE": "1000000000",
    "NATID_KYC_REQUESTS_PER_SECOND": "1000000000",
    "NATID_KYC_DAILY_QUOTA": "1000000000000",
}


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
    locust_workers: int = 0  # Locust's distributed mode: a master and this many workers
    # Pinning (taskset -c): the server on some cores, Locust on others, for figures that
    # do not depend on where the scheduler put whom.
    server_cpus: frozenset[int] | None = None
    locust_cpus: frozenset[int] | None = None

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
    scenarios_catalog.check_known(options.tags)
    settings = IdentitySettings()
    if options.workers > 1 and not settings.redis_url:
        raise LoadTestError(
            "--workers > 1 needs NATID_REDIS_URL (codes and sessions are shared through Redis)"
        )
    directory = options.output or REPORTS_DIRECTORY / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    directory.mkdir(parents=True, exist_ok=True)
    population = _ensure_population(settings.population_database_url(), options, console)
    provisioning_directory = settings.data_dir / LOAD_TEST_DIRECTORY
    _create_identity_schema(settings)  # before the server, or both would race to create it
    port = free_port()
    server = IdpServer(
        port=port,
        workers=options.workers,
        environment=_server_environment(environ, port),
        log_path=directory / "server.log",
        cpus=options.server_cpus,
    )
    # The server boots (imports, keys) while we provision: it reads clients and accounts
    # only when the first requests come, after ``wait_ready``.
    server.launch()
    try:
        with console.status("Provisioning load-test clients and accounts…"):
            provisioned = provision_load_test(
                settings, provisioning_directory, options.account_count()
            )
        accounts = provisioned.accounts
        console.print(
            f"{len(accounts.credentials):,} load-test accounts ({accounts.created:,} new, "
            f"{accounts.accounts_per_second:,.0f}/s) and clients in {provisioning_directory}"
        )
        argon2_before = argon2_verify_cpu_ms(settings, cpus=options.server_cpus)
        with console.status(f"Starting the IdP ({options.workers} worker(s))…"):
            server.wait_ready()
        tags = scenarios_catalog.select(server.url, options.tags)
        console.print(f"IdP on {server.url}; scenarios: {', '.join(tags)}")
        csv_prefix = directory / "locust"
        run = LocustRun(
            host=server.url,
            users=options.users,
            spawn_rate=options.spawn_rate or options.users,
            duration=options.duration,
            tags=tuple(tags),
            csv_prefix=csv_prefix,
            provisioning_directory=provisioning_directory,
            think_time=options.think_time,
            locust_workers=options.locust_workers,
            cpus=options.locust_cpus,
        )
        # One worker answers /metrics for the whole server; with several, for itself only.
        counts_hashing = options.workers == 1
        hashing_before = password_hashing(server.url) if counts_hashing else None
        server_before = tree_cpu_seconds(server.pid)
        threads_before = tree_thread_ticks(server.pid)
        started = time.monotonic()
        sampler = MemorySampler(server.pid).start()
        try:
            generator_cpu = run_locust(run, console)
        finally:
            memory = sampler.stop()
        cpu = CpuUsage(
            server_seconds=tree_cpu_seconds(server.pid) - server_before,
            load_generator_seconds=generator_cpu,
            wall_seconds=time.monotonic() - started,
        )
        server_threads = by_thread(
            thread_cpu_seconds(threads_before, tree_thread_ticks(server.pid)), cpu.server_seconds
        )
        server_hashing = difference(
            hashing_before, password_hashing(server.url) if counts_hashing else None
        )
        # Measured again after the load, on the server's CPUs: the ratio then compares
        # like with like even when the machine got busier or quieter during the run.
        argon2_ms = (argon2_before + argon2_verify_cpu_ms(settings, cpus=options.server_cpus)) / 2
    finally:
        server.stop()
    run_settings = {
        "duration_s": options.duration,
        "users": options.users,
        "server_workers": options.workers,
        "tags": " ".join(tags),
        "think_time_s": options.think_time,
        "locust_workers": options.locust_workers,
        "server_cpus": _cpu_list(options.server_cpus),
        "locust_cpus": _cpu_list(options.locust_cpus),
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
        memory=memory,
        server_hashing=server_hashing,
        server_threads=server_threads,
    )
    files = [*write_summary(summary, directory)]
    return LoadTestResult(directory, summary, files)


def _cpu_list(cpus: frozenset[int] | None) -> str:
    return "any" if not cpus else ",".join(str(cpu) for cpu in sorted(cpus))


def by_thread(live: Mapping[str, float], server_seconds: float) -> dict[str, float]:
    """The server's CPU per thread label: the threads alive at the end of the run, and
    under ``ENDED_THREADS`` the rest of ``server_seconds`` (threads and processes that
    ended meanwhile, such as an audit writer that went idle), when there is any."""
    threads = {label: seconds for label, seconds in live.items() if seconds > 0}
    # Ticks are 10 ms: a remainder below that is rounding, not a thread.
    ended = server_seconds - sum(live.values())
    if ended >= 0.01:
        threads[ENDED_THREADS] = ended
    return threads


def argon2_verify_cpu_ms(
    settings: IdentitySettings,
    samples: int = ARGON2_SAMPLES,
    *,
    cpus: frozenset[int] | None = None,
) -> float:
    """CPU milliseconds of one argon2id verify at the server's parameters (median), on
    ``cpus`` when given (the calling thread is pinned there for the measurement)."""
    # The bare hasher, in this thread: PasswordHashing runs it in threads of its own,
    # which this thread's CPU clock would not see.
    hasher = argon2_hasher(settings)
    stored = hasher.hash("argon2 yardstick password")
    previous = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        timings = []
        for _ in range(samples):
            started = time.thread_time()
            hasher.verify(stored, "argon2 yardstick password")
            timings.append((time.thread_time() - started) * 1000)
    finally:
        if cpus:
            os.sched_setaffinity(0, previous)
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


def _create_identity_schema(settings: IdentitySettings) -> None:
    engine = create_identity_engine(settings.identity_database_url())
    try:
        create_identity_schema(engine)
    finally:
        engine.dispose()


def _server_environment(environ: Mapping[str, str], port: int) -> dict[str, str]:
    """The environment's settings, with the issuer at the server's port and the limits
    that would stop one load generator lifted."""
    return {**environ, **SERVER_LIMITS, "NATID_ISSUER": f"http://127.0.0.1:{port}"}
