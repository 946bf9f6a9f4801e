"""Offline ID-token verification as a portal does it: a cached JWKS, then PyJWT.

``KeySet`` holds the IdP's published keys, parsed once per fetch; an unknown ``kid`` makes
it fetch again (key rotation), at most once per ``refetch_after`` seconds so a forged
``kid`` cannot turn every verification into a JWKS download. ``verify_id_token`` checks
what OpenID Connect Core §3.1.3.7 asks of a relying party: signature with the published
key and the header's algorithm (from an allow-list), ``iss``, ``aud``, ``exp``/``iat``,
the ``nonce`` of the request, and ``at_hash`` against the access token.

No Locust import: portals, tests and benchmarks use it as is.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

ACCEPTED_ALGORITHMS = ("ES256", "EdDSA", "RS256")
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat"]
DEFAULT_REFETCH_AFTER = 5.0
LEEWAY_SECONDS = 5


class IdTokenError(Exception):
    """The ID token must not be accepted; the message says why."""


class KeySet:
    """The IdP's JWKS, fetched with ``fetch`` and kept parsed by ``kid``."""

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        refetch_after: float = DEFAULT_REFETCH_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refetch_after = refetch_after
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id, fetching the set if it is unknown and may be new."""
        found = self._keys.get(kid)
        if found is not None:
            return found
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self._refetch_after:
            self.refresh()
        return self._keys.get(kid)

    def refresh(self) -> None:
        document = self._fetch()
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            kid = entry.get("kid")
            if isinstance(kid, str) and entry.get("use", "sig") == "sig":
                try:
                    keys[kid] = jwt.PyJWK(dict(entry))
                except jwt.PyJWKError:
                    continue  # a key type this PyJWT cannot use: skip it, keep the others
        self._keys = keys
        self._fetched_at = self._clock()
        self.fetches += 1


def verify_id_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The verified claims of ``token``; ``IdTokenError`` if anything is off."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise IdTokenError(f"malformed ID token: {error}") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise IdTokenError(f"ID token algorithm {algorithm!r} is not accepted")
    key = keys.key(kid) if isinstance(kid, str) else None
    if key is None:
        raise IdTokenError(f"ID token signed with an unknown key {kid!r}")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as error:
        raise IdTokenError(f"ID token rejected: {error}") from None
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("the ID token's nonce is not the request's")
    if (
        access_token is not None
        and "at_hash" in claims
        and claims["at_hash"] != left_half_hash(access_token, algorithm)
    ):
        raise IdTokenError("at_hash does not match the access token")
    return claims


def left_half_hash(value: str, algorithm: str) -> str:
    """``at_hash`` (OIDC Core §3.1.3.6): base64url of the left half of the token's hash."""
    digest = (hashlib.sha512 if algorithm == "EdDSA" else hashlib.sha256)(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
