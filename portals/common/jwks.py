"""The IdP's signing keys, cached by key id (``kid``), for verifying ID tokens offline.

The key set is fetched from the ``jwks_uri`` the first time a key is needed and kept.
A token signed with a ``kid`` the cache does not know (the IdP rotated its keys) makes
the cache fetch the key set once more; to keep a stream of forged ``kid`` values from
turning the portal into a JWKS hammer, that refetch happens at most once per
``min_refetch_seconds``. Each fetch replaces the whole set, so retired keys drop out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

# RFC 7518 §3.4: each ECDSA algorithm is defined on one curve only.
_CURVE_OF_EC_ALGORITHM = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class UnknownSigningKeyError(Exception):
    """No key with this ``kid`` in the IdP's key set, even after a refetch."""


class JwksCache:
    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refetch_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._min_refetch_seconds = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        """The public key with ``kid``; raises ``UnknownSigningKeyError``."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._keys.get(kid)  # another request may have refreshed meanwhile
            if key is None and self._may_fetch():
                await self._refresh()
                key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKeyError(kid)
        return key

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key with ``kid`` if the cache holds it (no fetch, no await)."""
        return self._keys.get(kid)

    def known_key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def _may_fetch(self) -> bool:
        return (
            self._fetched_at is None
            or self._clock() - self._fetched_at >= self._min_refetch_seconds
        )

    async def _refresh(self) -> None:
        document = await self._fetch()
        self._fetched_at = self._clock()
        self._keys = _signing_keys(document)


def _signing_keys(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by kid; keys we cannot use are skipped
    (an unsupported curve, an encryption key) rather than failing the whole set."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        # Public keys for signatures only: a shared secret ("oct") or a private part has no
        # business in a published key set.
        if entry.get("kty") not in ("RSA", "EC", "OKP") or entry.get("use", "sig") != "sig":
            continue
        if "d" in entry:
            continue
        try:
            key = jwt.PyJWK.from_dict(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        if entry["kty"] == "EC" and not _on_its_algorithms_curve(key):
            continue
        keys[entry["kid"]] = key
    return keys


def _on_its_algorithms_curve(key: jwt.PyJWK) -> bool:
    """An EC key whose ``alg`` names another curve's algorithm (a P-384 key marked ES256)
    is refused here, so a verifier may take an ES256 key to be a P-256 one."""
    curve = _CURVE_OF_EC_ALGORITHM.get(key.algorithm_name)
    return (
        curve is not None
        and isinstance(key.key, ec.EllipticCurvePublicKey)
        and key.key.curve.name == curve
    )
