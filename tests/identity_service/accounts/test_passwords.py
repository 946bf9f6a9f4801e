"""argon2id hashing: verification, the dummy verify, rehash detection."""

from __future__ import annotations

import asyncio
import os
import resource
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import argon2
import pytest

from identity_service.accounts.passwords import PasswordHashing, hashing_totals
from identity_service.config import IdentitySettings
from loadtests.memory import rss_mib


class Counting(argon2.PasswordHasher):
    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


def _cheap(memory_kib: int = 1024) -> Counting:
    return Counting(time_cost=1, memory_cost=memory_kib, parallelism=1)


def test_hash_is_argon2id_and_verifies() -> None:
    hashing = PasswordHashing(_cheap())
    stored = hashing.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert hashing.verify(stored, "correct horse battery")
    assert not hashing.verify(stored, "correct horse batterY")


def test_malformed_stored_hash_is_no_match() -> None:
    hashing = PasswordHashing(_cheap())
    assert not hashing.verify("not-a-hash", "anything at all")
    assert hashing.needs_rehash("not-a-hash")


def test_missing_hash_still_pays_one_verify() -> None:
    hasher = _cheap()
    hashing = PasswordHashing(hasher)
    assert not hashing.verify_or_dummy(None, "whatever password")
    assert hasher.verifications == 1
    stored = hashing.hash("whatever password")
    assert hashing.verify_or_dummy(stored, "whatever password")
    assert hasher.verifications == 2


def test_the_awaited_verify_runs_in_the_argon2_threads_and_answers_as_the_other() -> None:
    hasher = _cheap()
    hashing = PasswordHashing(hasher)
    stored = hashing.hash("whatever password")
    threads: list[str] = []
    verify = hasher.verify

    def recorded(hash: str | bytes, password: str | bytes) -> bool:
        threads.append(threading.current_thread().name)
        return verify(hash, password)

    hasher.verify = recorded  # type: ignore[method-assign]

    async def answers() -> list[bool]:
        return [
            await hashing.verify_or_dummy_async(stored, "whatever password"),
            await hashing.verify_or_dummy_async(stored, "whatever passworD"),
            await hashing.verify_or_dummy_async(None, "whatever password"),
            await hashing.verify_or_dummy_async("not-a-hash", "whatever password"),
        ]

    before = hashing_totals().hashes
    assert asyncio.run(answers()) == [True, False, False, False]
    # The missing hash paid its dummy verify too, and all four were counted.
    assert len(threads) == 4 and all(name.startswith("argon2") for name in threads)
    assert hashing_totals().hashes - before >= 4


def test_needs_rehash_when_parameters_change() -> None:
    old = PasswordHashing(_cheap(1024))
    new = PasswordHashing(_cheap(2048))
    stored = old.hash("a long passphrase")
    assert not old.needs_rehash(stored)
    assert new.needs_rehash(stored)
    assert new.verify(stored, "a long passphrase")  # old hashes keep working


def test_from_settings_uses_the_configured_owasp_parameters() -> None:
    settings = IdentitySettings(_env_file=None)
    hashing = PasswordHashing.from_settings(settings)
    params = argon2.extract_parameters(hashing.hash("x" * 12))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
    assert params.type is argon2.Type.ID


def _resident_mib() -> float:
    resident = rss_mib(os.getpid())
    assert resident is not None, "no VmRSS"
    return resident


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_verifying_in_many_threads_does_not_keep_a_buffer_per_thread() -> None:
    # 16 MiB per verify, called from 24 threads: glibc's malloc used to keep each
    # thread's buffer (24 x 16 MiB); the verifies run in one argon2 thread per CPU.
    hashing = PasswordHashing(
        argon2.PasswordHasher(time_cost=1, memory_cost=16 * 1024, parallelism=1)
    )
    stored = hashing.hash("correct horse battery staple")
    before = _resident_mib()
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda _: hashing.verify(stored, "wrong"), range(48)))
    assert results == [False] * 48
    assert _resident_mib() - before < ((os.cpu_count() or 1) + 1) * 16


def test_warm_verifies_reuse_their_buffers() -> None:
    # A buffer unmapped after each use is faulted in again by the next verify: 4,096
    # page faults for 16 MiB, a quarter more CPU per login (fixed mmap threshold).
    hashing = PasswordHashing(
        argon2.PasswordHasher(time_cost=1, memory_cost=16 * 1024, parallelism=1)
    )
    stored = hashing.hash("correct horse battery staple")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: hashing.verify(stored, "wrong"), range(16)))  # warm up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        list(pool.map(lambda _: hashing.verify(stored, "wrong"), range(16)))
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults / 16 < 1000


def test_the_process_counts_its_hashes_and_their_cpu() -> None:
    hashing = PasswordHashing(_cheap())
    before = hashing_totals()
    stored = hashing.hash("correct horse battery staple")
    assert hashing.verify(stored, "correct horse battery staple")
    assert not hashing.verify_or_dummy(None, "anything")
    after = hashing_totals()
    assert after.hashes - before.hashes == 3
    assert after.cpu_seconds > before.cpu_seconds
