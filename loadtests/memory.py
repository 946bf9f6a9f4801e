"""Resident memory of the server's processes during a load test, sampled from ``/proc``.

``MemorySampler`` runs beside Locust and reads ``VmRSS`` of the server process and every
descendant (the uvicorn workers) every ``interval`` seconds. ``MemoryUsage`` is what the
report shows per process: resident memory at the start of the load, its peak, at the end,
and the growth from the first to the last tenth of the run (the first tenth is when
caches fill, so a flat server shows a growth near zero however long it runs).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from loadtests.processes import tree_pids

DEFAULT_INTERVAL_SECONDS = 2.0
_KIB = 1024


@dataclass(frozen=True, slots=True)
class ProcessMemory:
    """One process's resident memory over the run, in MiB."""

    pid: int
    start_mib: float
    peak_mib: float
    end_mib: float
    # Mean of the last tenth of the samples minus the mean of the first tenth.
    growth_mib: float
    samples: int


@dataclass(frozen=True, slots=True)
class MemoryUsage:
    interval_seconds: float
    processes: list[ProcessMemory] = field(default_factory=list)
    # (seconds since the start, {pid: MiB}) for each sample: the curve behind the figures.
    timeline: list[tuple[float, dict[int, float]]] = field(default_factory=list)

    @property
    def largest(self) -> ProcessMemory | None:
        """The process with the highest peak: the worker (the supervisor stays small)."""
        return max(self.processes, key=lambda process: process.peak_mib, default=None)

    def as_json(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval_seconds,
            "processes": [asdict(process) for process in self.processes],
            "timeline": [
                {"seconds": seconds, "rss_mib": {str(pid): mib for pid, mib in sample.items()}}
                for seconds, sample in self.timeline
            ],
        }


class MemorySampler:
    """Samples the resident memory of ``pid``'s process tree until ``stop``."""

    def __init__(self, pid: int, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self._pid = pid
        self._interval = interval
        self._timeline: list[tuple[float, dict[int, float]]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = 0.0

    def start(self) -> MemorySampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> MemoryUsage:
        self._stopped.set()
        self._thread.join()
        self._sample()  # the end of the run
        return summarise(self._timeline, self._interval)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._sample()
            self._stopped.wait(self._interval)

    def _sample(self) -> None:
        sample = {pid: rss for pid in tree_pids(self._pid) if (rss := rss_mib(pid)) is not None}
        if sample:
            self._timeline.append((round(time.monotonic() - self._started, 1), sample))


def rss_mib(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / _KIB
    except OSError:
        return None
    return None


def summarise(timeline: list[tuple[float, dict[int, float]]], interval: float) -> MemoryUsage:
    by_pid: dict[int, list[float]] = {}
    for _seconds, sample in timeline:
        for pid, mib in sample.items():
            by_pid.setdefault(pid, []).append(mib)
    processes = []
    for pid, values in by_pid.items():
        tenth = max(1, len(values) // 10)
        first, last = values[:tenth], values[-tenth:]
        processes.append(
            ProcessMemory(
                pid=pid,
                start_mib=values[0],
                peak_mib=max(values),
                end_mib=values[-1],
                growth_mib=sum(last) / len(last) - sum(first) / len(first),
                samples=len(values),
            )
        )
    return MemoryUsage(interval, processes, timeline)
