"""Storing client secrets: a fast keyed hash, compared in constant time.

Client secrets are high-entropy machine secrets, so they are stored as HMAC-SHA256 under
a key derived from the server secret, not with argon2: a slow hash there would only cap
the token endpoint's throughput, and a leaked table is useless without the server secret.
"""

from __future__ import annotations

import hashlib
import hmac

_SECRET_HASH_PREFIX = "hmac-sha256$"
_SECRET_KEY_LABEL = b"natid/client-secret-hash/v1"


class ClientSecretHasher:
    """HMAC-SHA256 of client secrets under a key derived from the server secret."""

    def __init__(self, server_secret: bytes) -> None:
        self._key = hmac.new(server_secret, _SECRET_KEY_LABEL, hashlib.sha256).digest()

    def hash(self, client_secret: str) -> str:
        digest = hmac.digest(self._key, client_secret.encode("utf-8"), "sha256")
        return _SECRET_HASH_PREFIX + digest.hex()

    def verify(self, stored_hash: str | None, presented_secret: str) -> bool:
        """Constant-time comparison; a client without a stored hash never matches."""
        candidate = self.hash(presented_secret)
        if stored_hash is None:
            hmac.compare_digest(candidate, candidate)
            return False
        return hmac.compare_digest(candidate.encode("ascii"), stored_hash.encode("ascii"))
