"""Benchmark of the population database (a measurement, not a test).

Seeds N citizens (default 1,000,000) into a fresh SQLite file in a temporary directory,
and with ``--postgres URL`` also into a fresh PostgreSQL database created on that server
(dropped afterwards); reports wall time, citizens/s, the peak memory of the whole process
tree (this process, the forkserver and the generator worker: the sum of their resident
sizes, and of their proportional sizes, which count shared pages once), the database size,
the latency of ``PopulationRegistry.get`` over random existing ID numbers, and the writing
process's CPU time per 1,000 citizens early and late in the load (flat means linear cost).
Prints a Markdown table.

    .venv/bin/python scripts/bench_population.py [--citizens N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from population_db import db
from population_db.loader import seed_population
from population_db.registry import PopulationRegistry

MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    backend: str
    citizens: int
    seconds: float
    peak_rss: int
    peak_pss: int
    size: int
    lookups: int
    p50_us: float
    p99_us: float
    writer_cpu: CpuPerCitizen

    @property
    def rate(self) -> float:
        return self.citizens / self.seconds


@dataclass
class CpuPerCitizen:
    """This (writing) process's CPU time per 1,000 citizens, sampled after each batch.

    CPU time rather than wall time, so that other work on the machine does not blur it.
    Flat from the first tenth of the batches to the last means cost grows linearly.
    """

    marks: list[tuple[int, float]]  # (citizens written, process CPU seconds)
    finish_cpu: float = 0.0  # after the last batch: SQLite's move, the secondary indexes

    def progress(self, done: int, _total: int) -> None:
        self.marks.append((done, time.process_time()))

    def ms_per_thousand(self, first: int, last: int) -> float:
        (done_0, cpu_0), (done_1, cpu_1) = self.marks[first], self.marks[last]
        return 1e6 * (cpu_1 - cpu_0) / max(1, done_1 - done_0)

    def early_and_late(self) -> tuple[float, float]:
        # From mark 1: mark 0 precedes the demo batch and the worker's start-up.
        end = len(self.marks) - 1
        tenth = max(1, (end - 1) // 10)
        return self.ms_per_thousand(1, 1 + tenth), self.ms_per_thousand(end - tenth, end)


class TreeMemorySampler:
    """Samples the summed memory of this process and all its descendants from /proc."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        pids = _tree(os.getpid())
        self.peak_rss = max(self.peak_rss, sum(_rss(pid) for pid in pids))
        self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid in pids))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@contextmanager
def private_postgres_database(server_url: str) -> Iterator[str]:
    import psycopg

    admin = sa.make_url(server_url).set(drivername="postgresql")
    name = f"natid_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(backend: str, url: str, args: argparse.Namespace, size_of: callable) -> Measurement:
    writer_cpu = CpuPerCitizen(marks=[])
    with TreeMemorySampler() as memory:
        started = time.perf_counter()
        seed_population(
            url, args.citizens, args.seed, batch_size=args.batch_size, progress=writer_cpu.progress
        )
        seconds = time.perf_counter() - started
    writer_cpu.finish_cpu = time.process_time() - writer_cpu.marks[-1][1]
    p50, p99 = lookup_latency(url, args.lookups)
    return Measurement(
        backend=backend,
        citizens=args.citizens,
        seconds=seconds,
        peak_rss=memory.peak_rss,
        peak_pss=memory.peak_pss,
        size=size_of(url),
        lookups=args.lookups,
        p50_us=p50,
        p99_us=p99,
        writer_cpu=writer_cpu,
    )


def lookup_latency(url: str, lookups: int) -> tuple[float, float]:
    """p50 and p99 of ``get`` over random existing numbers, after a warm-up of 1,000 others."""
    registry = PopulationRegistry.from_url(url)
    try:
        column = db.CITIZEN_TABLE.c.personal_id_number
        with registry.engine.connect() as connection:
            numbers = list(
                connection.execute(
                    sa.select(column).order_by(sa.func.random()).limit(lookups + 1_000)
                ).scalars()
            )
        for number in numbers[lookups:]:
            registry.get(number)
        latencies = []
        for number in numbers[:lookups]:
            started = time.perf_counter()
            record = registry.get(number)
            latencies.append(time.perf_counter() - started)
            assert record is not None
    finally:
        registry.close()
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1e6, cuts[98] * 1e6


def sqlite_size(url: str) -> int:
    path = Path(sa.make_url(url).database or "")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def postgres_size(url: str) -> int:
    engine = db.create_population_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT pg_database_size(current_database())"
            ).scalar()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL", help="also measure COPY into this server")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    args = parser.parse_args()

    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="natid-bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'population.db'}"
            results.append(measure("SQLite", url, args, sqlite_size))
    if args.postgres:
        with private_postgres_database(args.postgres) as url:
            results.append(measure("PostgreSQL (COPY)", url, args, postgres_size))

    print(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()}"
    )
    print()
    print(
        "| backend | citizens | seed time | citizens/s | peak RSS (tree) | peak PSS (tree) "
        "| database size | get p50 | get p99 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.backend} | {r.citizens:,} | {r.seconds:.1f} s | {r.rate:,.0f} "
            f"| {r.peak_rss / MIB:,.0f} MiB | {r.peak_pss / MIB:,.0f} MiB "
            f"| {r.size / MIB:,.0f} MiB "
            f"| {r.p50_us:.0f} µs | {r.p99_us:.0f} µs |"
        )
    print()
    for r in results:
        early, late = r.writer_cpu.early_and_late()
        print(
            f"{r.backend}: writer CPU {early:.1f} ms per 1,000 citizens over the first tenth "
            f"of the batches, {late:.1f} ms over the last tenth; "
            f"{r.writer_cpu.finish_cpu:.1f} s CPU after the last batch"
        )
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(
        f"(getrusage: peak RSS of this process alone {self_peak:,.0f} MiB; "
        f"{args.lookups:,} lookups by ID per backend after 1,000 warm-up lookups)"
    )


if __name__ == "__main__":  # the generator worker re-imports this module
    main()
