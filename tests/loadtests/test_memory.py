"""Resident-memory sampling of a process tree, and how the report shows it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from loadtests.memory import MemorySampler, summarise
from loadtests.report import CpuUsage, build_summary, render_markdown
from tests.loadtests.test_report import _stats_row, _write_run

# A parent whose child grows to ~60 MiB, then both wait for a line on stdin.
_GROWING_TREE = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import sys, time\\nblock = bytearray(60 * 1024 * 1024)\\nprint('grown', flush=True)\\n"
    "sys.stdin.readline()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(child.stdout.readline().decode().strip(), flush=True)
sys.stdin.readline()
child.stdin.close(); child.wait()
"""


def test_the_sampler_follows_every_process_of_the_tree() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _GROWING_TREE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None and parent.stdout.readline().strip() == "grown"
            sampler = MemorySampler(parent.pid, interval=0.05).start()
            time.sleep(0.3)
            usage = sampler.stop()
        finally:
            assert parent.stdin is not None
            parent.stdin.close()
            parent.wait(10)
    assert {process.pid for process in usage.processes} >= {parent.pid}
    assert len(usage.processes) == 2
    largest = usage.largest
    assert largest is not None and largest.pid != parent.pid  # the child holds the 60 MiB
    assert largest.peak_mib >= 60 and largest.samples >= 3
    assert abs(largest.growth_mib) < 5  # it grew before the sampling started
    assert usage.timeline and all(sample for _seconds, sample in usage.timeline)


def test_growth_compares_the_last_tenth_with_the_first() -> None:
    timeline = [(float(n), {7: 100.0 + n}) for n in range(20)]  # 1 MiB a sample
    (process,) = summarise(timeline, 1.0).processes
    assert (process.start_mib, process.peak_mib, process.end_mib) == (100.0, 119.0, 119.0)
    assert process.growth_mib == 18.0  # mean(118, 119) - mean(100, 101)


def test_the_report_has_a_memory_table(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write_run(prefix, [_stats_row("POST", "kyc: verify", 10, 0, 5)], [])
    memory = summarise([(0.0, {1: 50.0, 2: 120.0}), (2.0, {1: 50.0, 2: 121.5})], 2.0)
    summary = build_summary(
        prefix,
        settings={},
        cpu=CpuUsage(1.0, 1.0, 2.0),
        argon2_verify_ms=None,
        fail_p95_ms=None,
        memory=memory,
    )
    markdown = render_markdown(summary)
    assert "## Server memory (resident)" in markdown
    assert "| 2 | 120.0 | 121.5 | 121.5 | +1.5 | 2 |" in markdown
    document = summary.as_json()["memory"]
    assert document["processes"][1]["peak_mib"] == 121.5
    assert document["timeline"][1] == {"seconds": 2.0, "rss_mib": {"1": 50.0, "2": 121.5}}
