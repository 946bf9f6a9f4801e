"""Offline verification of ID tokens (OpenID Connect Core 1.0 §3.1.3.7).

The signature, ``iss`` and ``aud`` are checked as for every JWT the IdP signs
(``signed_jwts``: a key from the cached JWKS, an advertised asymmetric algorithm); then
``azp`` names this client when there are several audiences, ``exp`` is in the future
and ``iat`` not in the future (within the allowed clock skew), ``nonce`` is the one this
login sent, ``at_hash`` matches the access token when present, and ``acr`` is a level
natid issues and at least the level asked for.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

from portals.common.errors import IdTokenError, InsufficientLevelError
from portals.common.jwks import JwksCache
from portals.common.levels import level_of_acr
from portals.common.signed_jwts import SignedJwtError, verify_jwt

# The hash behind at_hash per signing algorithm; natid's EdDSA keys are Ed25519 → SHA-512.
_LEFT_HALF_HASHES: dict[str, Callable[[bytes], Any]] = {
    "RS256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "ES256": hashlib.sha256,
    "EdDSA": hashlib.sha512,
}
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


class IdTokenVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str],
        clock_skew_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._client_id = client_id
        self._algorithms = frozenset(algorithms)
        self._skew = clock_skew_seconds
        self._clock = clock

    async def verify(
        self,
        id_token: str,
        *,
        nonce: str,
        min_level: int,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """The verified claims; raises ``IdTokenError`` or ``InsufficientLevelError``."""
        try:
            verified = await verify_jwt(
                id_token,
                self._keys,
                issuer=self._issuer,
                audience=self._client_id,
                algorithms=self._algorithms,
                required=REQUIRED_CLAIMS,
            )
        except SignedJwtError as error:
            raise IdTokenError(str(error)) from None
        claims = verified.claims
        self._check_audience(claims)
        self._check_times(claims)
        sent_nonce = claims.get("nonce")
        if not isinstance(sent_nonce, str) or not hmac.compare_digest(sent_nonce, nonce):
            raise IdTokenError("nonce does not match this login")
        at_hash = claims.get("at_hash")
        if (
            access_token is not None
            and at_hash is not None
            and not hmac.compare_digest(
                str(at_hash), left_half_hash(access_token, verified.header["alg"])
            )
        ):
            raise IdTokenError("at_hash does not match the access token")
        level = level_of_acr(claims.get("acr"))
        if level is None or level < min_level:
            raise InsufficientLevelError(level, min_level)
        return claims

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1:
            if claims.get("azp") != self._client_id:
                raise IdTokenError("several audiences and azp is not this portal")
        elif "azp" in claims and claims["azp"] != self._client_id:
            raise IdTokenError("azp names another party")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        expires, issued = claims["exp"], claims["iat"]
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise IdTokenError("exp and iat must be numbers")
        if expires + self._skew <= now:
            raise IdTokenError("expired")
        if issued - self._skew > now:
            raise IdTokenError("issued in the future")


def left_half_hash(value: str, alg: str) -> str:
    """``at_hash`` of ``value`` for a token signed with ``alg`` (OIDC Core §3.1.3.6)."""
    digest = _LEFT_HALF_HASHES[alg](value.encode("ascii")).digest()
    half = binascii.b2a_base64(digest[: len(digest) // 2], newline=False)
    return half.translate(_STANDARD_TO_URLSAFE).rstrip(b"=").decode("ascii")
