"""Password hashing: argon2id at the configured cost, with a constant-work failure path.

``PasswordHashing`` wraps one ``argon2.PasswordHasher``. ``verify_or_dummy`` is the only
verification the login path uses: with no stored hash (unknown ID number) it still runs
one full verify against a fixed dummy hash made with the same parameters, so the answer
takes as long for someone who does not exist as for a wrong password. Verification is
a plain synchronous call; the HTTP layer runs it in a thread pool.
"""

from __future__ import annotations

import secrets

import argon2
import argon2.exceptions

from identity_service.config import IdentitySettings


class PasswordHashing:
    def __init__(self, hasher: argon2.PasswordHasher) -> None:
        self._hasher = hasher
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
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; a malformed stored hash counts as no match."""
        try:
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
