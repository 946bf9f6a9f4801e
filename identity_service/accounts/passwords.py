"""Password hashing: argon2id at the configured cost, with a constant-work failure path.

``PasswordHashing`` wraps one ``argon2.PasswordHasher``. ``verify_or_dummy`` is the only
verification the login path uses: with no stored hash (unknown ID number) it still runs
one full verify against a fixed dummy hash made with the same parameters, so the answer
takes as long for someone who does not exist as for a wrong password. Verification is
a plain synchronous call; the HTTP layer runs it in a thread pool.

Memory: each hash or verify allocates ``memory_cost`` (19 MiB by default). At most one
per CPU runs at a time — more would only share the same cores, each holding its
buffer — and the buffers go back to the operating system when done: glibc's malloc
otherwise keeps a freed buffer of this size in the arena of the thread that used it
(its mmap threshold grows to the largest freed block), so a server whose thread pool
has verified passwords in forty threads keeps forty buffers, 760 MiB, for ever.
``return_large_blocks_to_the_os`` fixes the threshold below the buffer size.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import threading

import argon2
import argon2.exceptions

from identity_service.config import IdentitySettings

# glibc's mallopt parameter (malloc.h): blocks this large or larger are mmap()ed, and
# setting it switches off the dynamic growth of the threshold.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024


def return_large_blocks_to_the_os(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Make glibc's malloc mmap() blocks of ``threshold`` bytes and more (so ``free``
    unmaps them); False where the C library is not glibc. Process-wide and idempotent."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, threshold))
    return False


class PasswordHashing:
    def __init__(self, hasher: argon2.PasswordHasher) -> None:
        self._hasher = hasher
        self._running = threading.BoundedSemaphore(os.cpu_count() or 1)
        return_large_blocks_to_the_os()
        # A hash of a random throwaway password: nothing typed can ever match it.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(32))

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> PasswordHashing:
        return cls(
            argon2.PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
                type=argon2.Type.ID,
            )
        )

    def hash(self, password: str) -> str:
        with self._running:
            return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; a malformed stored hash counts as no match."""
        try:
            with self._running:
                return self._hasher.verify(password_hash, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    def verify_or_dummy(self, password_hash: str | None, password: str) -> bool:
        """Verify against ``password_hash``, or pay one verify of the dummy and say no."""
        if password_hash is None:
            self.verify(self._dummy_hash, password)
            return False
        return self.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except argon2.exceptions.InvalidHashError:
            return True
