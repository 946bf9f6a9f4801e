"""Benchmark: where argon2id runs decides a server's memory and its CPU per login.

Each verify allocates the memory cost (19 MiB at natid's parameters). Three ways to run
them, each in a fresh process so malloc starts clean:

* **http-pool**: in 40 threads, as a server's HTTP thread pool would, glibc's default;
* **unmapped**: the same 40 threads with glibc's mmap threshold fixed at 1 MiB, so every
  buffer is returned to the operating system when freed (and faulted in again);
* **natid**: through ``PasswordHashing``, whose argon2 threads are one per CPU.

For each: CPU per verify (user and system), minor page faults per verify, and resident
memory growth after the run. The process is pinned to one CPU where it can be::

    .venv/bin/python scripts/bench_argon2_memory.py [--verifies 80] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

MODES = ("http-pool", "unmapped", "natid")
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _measure(mode: str, verifies: int) -> dict[str, float]:
    from identity_service.accounts.passwords import PasswordHashing, argon2_hasher
    from identity_service.config import IdentitySettings
    from loadtests.memory import rss_mib

    hasher = argon2_hasher(IdentitySettings())
    if mode == "unmapped":
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    if mode == "natid":
        hashing = PasswordHashing(hasher)
        stored = hashing.hash("load test password")

        def verify(_: int) -> bool:
            return hashing.verify(stored, "load test password")
    else:
        stored = hasher.hash("load test password")

        def verify(_: int) -> bool:
            return hasher.verify(stored, "load test password")

    before_memory = rss_mib(os.getpid()) or float("nan")
    before = resource.getrusage(resource.RUSAGE_SELF)
    with ThreadPoolExecutor(40) as http_pool:
        assert all(http_pool.map(verify, range(verifies)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "user_ms": (after.ru_utime - before.ru_utime) / verifies * 1000,
        "system_ms": (after.ru_stime - before.ru_stime) / verifies * 1000,
        "faults": (after.ru_minflt - before.ru_minflt) / verifies,
        "growth_mib": (rss_mib(os.getpid()) or float("nan")) - before_memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifies", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # one child's run
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(_measure(args.mode, args.verifies)))
        return
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:  # alternating, so drift in the machine's load hits all alike
            child = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--verifies", str(args.verifies)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[mode].append(json.loads(child.stdout))
    print(f"{args.verifies} verifies in 40 threads, medians of {args.rounds} rounds")
    print(f"{'mode':<10} {'CPU/verify':>11} {'of which sys':>13} {'faults':>8} {'RSS growth':>11}")
    for mode, runs in results.items():

        def median(name: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[name] for run in runs)

        cpu = median("user_ms") + median("system_ms")
        print(
            f"{mode:<10} {cpu:>8.1f} ms {median('system_ms'):>10.1f} ms "
            f"{median('faults'):>8.0f} {median('growth_mib'):>7.0f} MiB"
        )


if __name__ == "__main__":
    main()
