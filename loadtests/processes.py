"""The processes of a load test: the IdP under test, and CPU accounting of process trees.

``IdpServer`` runs ``natid serve`` on a free loopback port in a session of its own (so
it and its uvicorn workers stop together), waits until the discovery document answers,
and stops it with SIGINT (uvicorn's graceful shutdown), then SIGKILL if it lingers.

``tree_cpu_seconds`` reads user + system CPU time of a process and all its descendants
from ``/proc/<pid>/stat`` (Linux), including children already reaped (``cutime``,
``cstime``), so the difference between two readings is the tree's CPU over that time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path

import httpx

READY_PATH = "/.well-known/openid-configuration"
STOP_GRACE_SECONDS = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ServerStartError(Exception):
    """The IdP did not come up; the message quotes the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def natid_command() -> list[str]:
    """How to run ``natid`` with this interpreter's environment."""
    script = Path(sys.executable).with_name("natid")
    if script.exists():
        return [str(script)]
    found = shutil.which("natid")
    if found:
        return [found]
    return [sys.executable, "-c", "from natid.cli import main; main()"]


class IdpServer:
    def __init__(
        self,
        *,
        port: int,
        workers: int,
        environment: Mapping[str, str],
        log_path: Path,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.port = port
        self.cpus = cpus
        self.workers = workers
        self.url = f"http://127.0.0.1:{port}"
        self._environment = dict(environment)
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it (``wait_ready`` waits)."""
        command = [
            *natid_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                env=self._environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=pinned_to(self.cpus),
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the discovery document answers; ``ServerStartError`` if the
        process exits or stays silent for ``timeout`` seconds."""
        if self._process is None:
            raise RuntimeError("the server was not launched")
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise ServerStartError(
                        f"natid serve exited with status {self._process.returncode}: "
                        f"{self.log_tail()}"
                    )
                try:
                    if client.get(self.url + READY_PATH).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise ServerStartError(f"natid serve did not answer within {timeout:.0f} s")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        # Our own session: the group id is the server's pid; this reaches its workers.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def pinned_to(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child (and what it starts) to ``cpus``, as
    ``taskset -c`` would; None leaves the scheduler free."""
    if not cpus:
        return None
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def parse_cpus(text: str) -> frozenset[int]:
    """``"0"``, ``"0,1"`` or ``"0-3"`` as a set of CPU numbers (``taskset -c`` syntax)."""
    cpus: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"not a CPU list: {text!r} (like 0 or 0,1 or 0-3)")
        cpus.update(range(int(first), int(last or first) + 1))
    available = os.sched_getaffinity(0)
    if not cpus or not cpus <= available:
        raise ValueError(f"CPUs {text!r} are not all available here ({sorted(available)})")
    return frozenset(cpus)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    stats = _all_process_stats()
    return sum(stats[current][1] for current in _tree(pid, stats)) / _CLOCK_TICKS


#: The label of a process's main thread (the event loop, in an IdP worker).
MAIN_THREAD = "main"


def tree_thread_ticks(pid: int) -> dict[tuple[int, int], tuple[str, int]]:
    """(process, thread) → (label, CPU ticks) for every thread alive now in ``pid`` and
    its descendants; the label is ``MAIN_THREAD`` for a process's first thread, else the
    name the kernel has for the thread (``identity_service.native_threads``)."""
    ticks: dict[tuple[int, int], tuple[str, int]] = {}
    for process in tree_pids(pid):
        try:
            tasks = os.listdir(f"/proc/{process}/task")
        except OSError:
            continue  # ended meanwhile
        for task in tasks:
            stat = _read_stat(f"/proc/{process}/task/{task}/stat")
            if stat is None:
                continue
            name, fields = stat
            thread = int(task)
            label = MAIN_THREAD if thread == process else name
            ticks[(process, thread)] = (label, int(fields[11]) + int(fields[12]))
    return ticks


def thread_cpu_seconds(
    before: dict[tuple[int, int], tuple[str, int]],
    after: dict[tuple[int, int], tuple[str, int]],
) -> dict[str, float]:
    """CPU seconds per thread label between two ``tree_thread_ticks`` readings, for the
    threads alive at the second (a thread that ended in between is not in it)."""
    seconds: dict[str, float] = {}
    for key, (label, ticks) in after.items():
        spent = ticks - before.get(key, (label, 0))[1]
        seconds[label] = seconds.get(label, 0.0) + spent / _CLOCK_TICKS
    return seconds


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants that are alive now."""
    return _tree(pid, _all_process_stats())


def _tree(pid: int, stats: dict[int, tuple[int, int]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, (parent, _ticks) in stats.items():
        children.setdefault(parent, []).append(child)
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        if current in stats:
            found.append(current)
        pending.extend(children.get(current, []))
    return found


def _all_process_stats() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, CPU ticks incl. reaped children) for every visible process."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = _read_stat(f"/proc/{entry.name}/stat")
        if stat is None:
            continue
        _name, fields = stat
        parent = int(fields[1])
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        stats[int(entry.name)] = (parent, utime + stime + cutime + cstime)
    return stats


def _read_stat(path: str) -> tuple[str, list[str]] | None:
    """A ``/proc`` stat file's command name and the fields after it (from field 3, the
    state, on); None when the process or thread ended while we looked."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after it.
    end = text.rindex(")")
    return text[text.index("(") + 1 : end], text[end + 2 :].split()
