"""Kernel-visible thread names: the password hashing and the audit writer threads carry
theirs (``top -H``, ``/proc/PID/task/TID/comm``, the load test's CPU by thread)."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import argon2
import pytest
from sqlalchemy import Engine

from identity_service.accounts.passwords import HASHING_THREAD_NAME, PasswordHashing
from identity_service.audit import AuditLog
from identity_service.audit_writer import WRITER_THREAD_NAME, AuditWriter
from identity_service.native_threads import MAX_NAME_BYTES, name_native_thread

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="thread names are read from /proc"
)


def _kernel_names() -> list[str]:
    return [(task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()]


def _kernel_name_of(thread: threading.Thread) -> str:
    return Path(f"/proc/self/task/{thread.native_id}/comm").read_text().strip()


def test_a_thread_names_itself_for_the_kernel_cut_to_fifteen_bytes() -> None:
    named = threading.Event()
    finish = threading.Event()
    outcome: list[bool] = []

    def run() -> None:
        outcome.append(name_native_thread("natid-a-very-long-thread-name"))
        named.set()
        finish.wait(5)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert named.wait(5)
        assert outcome == [True]
        assert _kernel_name_of(thread) == "natid-a-very-long-thread-name"[:MAX_NAME_BYTES]
    finally:
        finish.set()
        thread.join()


def test_the_password_hashing_threads_carry_their_name() -> None:
    hashing = PasswordHashing(argon2.PasswordHasher(time_cost=1, memory_cost=256, parallelism=1))
    stored = hashing.hash("correct horse battery")
    assert asyncio.run(hashing.verify_or_dummy_async(stored, "correct horse battery"))
    assert HASHING_THREAD_NAME in _kernel_names()


def test_the_audit_writer_thread_carries_its_name(identity_file_engine: Engine) -> None:
    writer = AuditWriter(AuditLog(identity_file_engine, b"native-threads-test-secret"))
    writer.record("login.failure", actor="test")
    try:
        assert WRITER_THREAD_NAME in _kernel_names()
    finally:
        writer.close()
