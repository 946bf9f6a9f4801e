"""CPU accounting of process trees, and what happens when the IdP cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from identity_service.config import IdentitySettings
from loadtests.processes import (
    IdpServer,
    ServerStartError,
    free_port,
    parse_cpus,
    pinned_to,
    thread_cpu_seconds,
    tree_cpu_seconds,
    tree_thread_ticks,
)
from loadtests.report import ENDED_THREADS
from loadtests.runner import argon2_verify_cpu_ms, by_thread

# A parent that starts a child burning ~0.4 s of CPU, then waits for a line on stdin.
_BURNING_TREE = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import time\\nend = time.thread_time() + 0.4\\nwhile time.thread_time() < end: pass\\n"
    "print('done', flush=True)\\nimport sys; sys.stdin.readline()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(child.stdout.readline().decode().strip(), flush=True)
sys.stdin.readline()
child.stdin.close(); child.wait()
"""


def _python(code: str) -> subprocess.Popen[str]:
    """``code`` run by this Python, with the project importable, talking through pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_tree_cpu_includes_the_descendants() -> None:
    parent = _python(_BURNING_TREE)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "done"
        # The parent itself barely ran; the 0.4 s were spent by its child.
        assert tree_cpu_seconds(parent.pid) >= 0.35
    finally:
        assert parent.stdin is not None
        parent.stdin.close()
        parent.wait(timeout=10)
        assert parent.stdout is not None
        parent.stdout.close()


# A process whose main thread waits while a thread named natid-argon2 burns ~0.4 s.
_BURNING_THREAD = """
import sys, threading, time
from identity_service.native_threads import name_native_thread
def burn():
    name_native_thread("natid-argon2")
    print("named", flush=True)
    sys.stdin.readline()
    end = time.thread_time() + 0.4
    while time.thread_time() < end: pass
    print("done", flush=True)
    sys.stdin.readline()
threading.Thread(target=burn).start()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads are read from /proc")
def test_cpu_is_split_by_the_threads_names() -> None:
    process = _python(_BURNING_THREAD)
    try:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().strip() == "named"
        before = tree_thread_ticks(process.pid)
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "done"
        seconds = thread_cpu_seconds(before, tree_thread_ticks(process.pid))
        assert seconds["natid-argon2"] == pytest.approx(0.4, abs=0.15)
        assert seconds["main"] < 0.1  # the main thread only waits
        process.stdin.write("end\n")
        process.stdin.flush()
    finally:
        process.communicate(timeout=10)


def test_what_ended_during_the_run_is_the_rest_of_the_servers_cpu() -> None:
    live = {"main": 1.5, "natid-argon2": 6.0, "python": 0.0}
    assert by_thread(live, 8.0) == {"main": 1.5, "natid-argon2": 6.0, ENDED_THREADS: 0.5}
    # Less than a clock tick of difference is the two readings' rounding, not a thread.
    assert by_thread(live, 7.505) == {"main": 1.5, "natid-argon2": 6.0}


def test_an_unknown_process_used_no_cpu() -> None:
    assert tree_cpu_seconds(2**22 + 12345) == 0.0


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NATID_")},
        "NATID_DATA_DIR": str(tmp_path),  # no population database here
    }
    server = IdpServer(
        port=free_port(), workers=1, environment=environment, log_path=tmp_path / "server.log"
    )
    with pytest.raises(ServerStartError, match="population"):
        server.start(timeout=30)


def test_cpu_lists_in_taskset_syntax() -> None:
    available = sorted(os.sched_getaffinity(0))
    assert parse_cpus(str(available[0])) == {available[0]}
    assert parse_cpus(",".join(map(str, available))) == set(available)
    assert parse_cpus(f"{available[0]}-{available[-1]}") >= {available[0], available[-1]}
    for wrong in ("", "a", "0-b", "99999"):
        with pytest.raises(ValueError):
            parse_cpus(wrong)


def test_a_pinned_child_runs_only_on_its_cpus() -> None:
    cpu = min(os.sched_getaffinity(0))
    output = subprocess.run(
        [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
        preexec_fn=pinned_to(frozenset({cpu})),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.strip() == f"[{cpu}]"
    assert pinned_to(None) is None


def test_the_argon2_yardstick_counts_the_hash_itself(tmp_path: Path) -> None:
    # The yardstick is read from this thread's CPU clock; when it went through
    # PasswordHashing, whose argon2 runs in threads of its own, it read about 0.1 ms
    # (and a login "cost 452 argon2 verifies"). 16 MiB of argon2id is milliseconds of
    # CPU on any machine.
    settings = IdentitySettings(
        data_dir=tmp_path,
        secret_key="yardstick",
        argon2_memory_kib=16 * 1024,
        argon2_time_cost=1,
        argon2_parallelism=1,
    )
    assert argon2_verify_cpu_ms(settings, samples=3) > 2.0
