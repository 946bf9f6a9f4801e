"""Password hashing: argon2id at the configured cost, with a constant-work failure path.

``PasswordHashing`` wraps one ``argon2.PasswordHasher``. ``verify_or_dummy`` is the only
verification the login path uses: with no stored hash (unknown ID number) it still runs
one full verify against a fixed dummy hash made with the same parameters, so the answer
takes as long for someone who does not exist as for a wrong password. Verification is
a plain synchronous call; the HTTP layer runs it in a thread pool.

Memory and CPU: each hash or verify allocates ``memory_cost`` (19 MiB by default). They
run in a small pool of their own, one thread per usable CPU (more would only share the same
cores, each holding its buffer): glibc's malloc keeps a freed buffer of this size in the
arena of the thread that used it, so a buffer per pool thread stays resident and is
reused. Run in the HTTP thread pool instead (forty threads), the buffers added up to
760 MiB; returned to the operating system after each use instead, every verify paid
4,865 page faults, a quarter more CPU (``scripts/bench_argon2_memory.py``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, TypeVar

import argon2
import argon2.exceptions

from identity_service.config import IdentitySettings
from identity_service.native_threads import name_native_thread

#: What the kernel calls the argon2 threads (``top -H``, the load test's CPU report).
HASHING_THREAD_NAME = "natid-argon2"

_Result = TypeVar("_Result")
_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None
_totals_lock = threading.Lock()
_cpu_seconds = 0.0
_hashes = 0


class HashingTotals(NamedTuple):
    """What this process's argon2 threads have done: hashes and verifies, and their CPU."""

    hashes: int
    cpu_seconds: float


def hashing_totals() -> HashingTotals:
    """Hashes and verifies run in this process so far, and the CPU time they took (each
    measured on its own thread's clock, so other work on the machine does not count)."""
    with _totals_lock:
        return HashingTotals(_hashes, _cpu_seconds)


def usable_cpus() -> int:
    """The CPUs this process may run on (a server pinned with ``taskset`` has fewer)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def argon2_hasher(settings: IdentitySettings) -> argon2.PasswordHasher:
    """An argon2id hasher at the configured cost."""
    return argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=argon2.Type.ID,
    )


def _hashing_threads() -> ThreadPoolExecutor:
    """The process's argon2 threads (made after a fork, if need be)."""
    global _pool
    current = _pool
    if current is None or current[0] != os.getpid():
        with _pool_lock:
            current = _pool
            if current is None or current[0] != os.getpid():
                executor = ThreadPoolExecutor(
                    max_workers=usable_cpus(),
                    thread_name_prefix="argon2",
                    initializer=name_native_thread,
                    initargs=(HASHING_THREAD_NAME,),
                )
                current = _pool = (os.getpid(), executor)
    return current[1]


def _in_hashing_threads(work: Callable[[], _Result]) -> _Result:
    """Run ``work`` in the process's argon2 threads; the calling thread waits."""
    return _hashing_threads().submit(_counted, work).result()


async def _awaiting_hashing_threads(work: Callable[[], _Result]) -> _Result:
    """Run ``work`` in the process's argon2 threads; the calling coroutine is suspended,
    the event loop goes on."""
    return await asyncio.wrap_future(_hashing_threads().submit(_counted, work))


def _counted(work: Callable[[], _Result]) -> _Result:
    global _cpu_seconds, _hashes
    started = time.thread_time()
    try:
        return work()
    finally:
        spent = time.thread_time() - started
        with _totals_lock:
            _cpu_seconds += spent
            _hashes += 1


class PasswordHashing:
    def __init__(self, hasher: argon2.PasswordHasher) -> None:
        self._hasher = hasher
        # A hash of a random throwaway password: nothing typed can ever match it.
        self._dummy_hash = self.hash(secrets.token_urlsafe(32))

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> PasswordHashing:
        return cls(argon2_hasher(settings))

    def hash(self, password: str) -> str:
        return _in_hashing_threads(lambda: self._hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; a malformed stored hash counts as no match."""
        return _in_hashing_threads(lambda: self._matches(password_hash, password))

    def verify_or_dummy(self, password_hash: str | None, password: str) -> bool:
        """Verify against ``password_hash``, or pay one verify of the dummy and say no."""
        if password_hash is None:
            self.verify(self._dummy_hash, password)
            return False
        return self.verify(password_hash, password)

    async def verify_or_dummy_async(self, password_hash: str | None, password: str) -> bool:
        """``verify_or_dummy`` for a coroutine: the verify runs in the argon2 threads while
        the event loop serves other requests."""
        candidate = self._dummy_hash if password_hash is None else password_hash
        matched = await _awaiting_hashing_threads(lambda: self._matches(candidate, password))
        return matched and password_hash is not None

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2.exceptions.InvalidHashError:
            return True
