"""Running Locust headless as child processes, alone or distributed, with a progress line.

Locust runs in processes of its own, never in this one: importing it patches the
interpreter with gevent. With ``locust_workers`` = 0 one process generates the load;
with N ≥ 1 a master (``--master --expect-workers N``, which writes the CSV and HTML
files) and N workers (``--worker``) do, which spreads the load generator over cores.
The progress line shows users, requests/s and failures from Locust's history CSV.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from loadtests.config import DIRECTORY_VARIABLE, THINK_TIME_VARIABLE
from loadtests.processes import free_port, pinned_to

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
GRACE_SECONDS = 60  # beyond the run time, before a silent Locust is killed
POLL_SECONDS = 0.5


class LocustRunError(Exception):
    """Locust could not run or wrote no statistics; the message quotes its log."""


@dataclass(frozen=True, slots=True)
class LocustRun:
    host: str
    users: int
    spawn_rate: float
    duration: int
    tags: tuple[str, ...]
    csv_prefix: Path
    provisioning_directory: Path
    think_time: float
    locust_workers: int = 0
    cpus: frozenset[int] | None = None  # pin the load generator (taskset -c)

    def common_arguments(self) -> list[str]:
        return ["-f", str(LOCUSTFILE), "--host", self.host, "--tags", *self.tags]

    def main_command(self) -> list[str]:
        """The standalone process, or the master: it runs the clock and writes the files."""
        command = [
            *_locust(), *self.common_arguments(), "--headless",
            "-u", str(self.users), "-r", f"{self.spawn_rate:g}", "-t", f"{self.duration}s",
            "--csv", str(self.csv_prefix),
            "--html", str(self.csv_prefix.with_name("locust.html")), "--only-summary",
        ]  # fmt: skip
        return command

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            DIRECTORY_VARIABLE: str(self.provisioning_directory.resolve()),
            THINK_TIME_VARIABLE: f"{self.think_time:g}",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH")])
            ),
        }


def run_locust(run: LocustRun, console: Console) -> float:
    """Run Locust to the end of its run time; the CPU seconds its processes used."""
    # Locust's CPU: what the children this process reaped used, before and after.
    children_before = _reaped_children_cpu_seconds()
    command = run.main_command()
    worker_commands: list[list[str]] = []
    if run.locust_workers > 0:
        port = free_port()
        command += [
            "--master", "--expect-workers", str(run.locust_workers),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        ]  # fmt: skip
        worker_commands = [
            [*_locust(), *run.common_arguments(), "--worker",
             "--master-host", "127.0.0.1", "--master-port", str(port)]
            for _ in range(run.locust_workers)
        ]  # fmt: skip
    logs = [run.csv_prefix.with_name("locust.log")] + [
        run.csv_prefix.with_name(f"locust-worker-{n}.log") for n in range(len(worker_commands))
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for arguments, log_path in zip([command, *worker_commands], logs, strict=True):
            with log_path.open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        arguments,
                        env=run.environment(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        preexec_fn=pinned_to(run.cpus),
                    )
                )
        _follow(processes[0], run, console)
        for worker in processes[1:]:
            worker.wait(GRACE_SECONDS)  # the master tells its workers to quit
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    if not Path(f"{run.csv_prefix}_stats.csv").exists():
        tail = " | ".join(logs[0].read_text(errors="replace").strip().splitlines()[-5:])
        raise LocustRunError(f"Locust wrote no statistics (exit {processes[0].returncode}): {tail}")
    return _reaped_children_cpu_seconds() - children_before


def _locust() -> list[str]:
    return [sys.executable, "-m", "locust"]


def _reaped_children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _follow(main: subprocess.Popen[bytes], run: LocustRun, console: Console) -> None:
    """Show progress until the main Locust process exits (killed if it overstays)."""
    deadline = time.monotonic() + run.duration + GRACE_SECONDS
    with Progress(
        TextColumn("Load test"), BarColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[live]}"), console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task("run", total=run.duration, live="starting…")
        started = time.monotonic()
        while main.poll() is None:
            elapsed = min(time.monotonic() - started, run.duration)
            progress.update(task, completed=elapsed, live=live_figures(run.csv_prefix))
            if time.monotonic() > deadline:
                raise LocustRunError("Locust did not stop after the run time; killed it")
            time.sleep(POLL_SECONDS)
        progress.update(task, completed=run.duration, live=live_figures(run.csv_prefix))


def live_figures(csv_prefix: Path) -> str:
    """Users, requests/s, requests and failures from the last line of the history file."""
    path = Path(f"{csv_prefix}_stats_history.csv")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]
    except OSError:
        return "starting…"
    if not rows:
        return "starting…"
    last = rows[-1]
    return (
        f"{last['User Count']} users · {float(last['Requests/s']):,.0f} req/s · "
        f"{last['Total Request Count']} requests · {last['Total Failure Count']} failures"
    )
