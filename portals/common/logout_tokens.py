"""Validating a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6).

The IdP POSTs a logout token when an SSO session the portal took part in ends. Before
the portal ends anything it checks, in the order of §2.6: the signature, ``iss``,
``aud`` (``signed_jwts``, the same rules as an ID token), ``iat`` and ``exp`` against the
portal's clock (with skew; ``iat`` also not older than ``max_age_seconds``), ``typ``
``logout+jwt`` when the header carries one (§2.4 recommends explicit typing), an
``events`` object with the back-channel logout member whose value is an object, a
``sid`` or a ``sub`` (or both), no ``nonce`` (so an ID token can never pass as a logout
token), and a ``jti``. Whether that ``jti`` was seen before is the receiver's question
(``backchannel_logout``), since it needs the portal's database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from portals.common.jwks import JwksCache
from portals.common.signed_jwts import SignedJwtError, verify_jwt

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "iat", "exp", "jti", "events")
DEFAULT_MAX_AGE_SECONDS = 600
MAX_IDENTIFIER_LENGTH = 256


class LogoutTokenError(Exception):
    """The logout token is not one to act on; the message says why."""


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """Whose session the IdP says has ended: ``sid`` and/or the pairwise ``subject``."""

    session_id: str | None
    subject: str | None
    token_id: str
    expires_at: float


class LogoutTokenVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str],
        clock_skew_seconds: int = 60,
        max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._client_id = client_id
        self._algorithms = frozenset(algorithms)
        self._skew = clock_skew_seconds
        self._max_age = max_age_seconds
        self._clock = clock

    async def verify(self, logout_token: str) -> LogoutRequest:
        try:
            verified = await verify_jwt(
                logout_token,
                self._keys,
                issuer=self._issuer,
                audience=self._client_id,
                algorithms=self._algorithms,
                required=REQUIRED_CLAIMS,
                token_type=LOGOUT_TOKEN_TYPE,
            )
        except SignedJwtError as error:
            raise LogoutTokenError(str(error)) from None
        claims = verified.claims
        self._check_times(claims)
        _check_events(claims.get("events"))
        if "nonce" in claims:
            raise LogoutTokenError("a logout token must not contain a nonce")
        session_id = _identifier(claims, "sid")
        subject = _identifier(claims, "sub")
        if session_id is None and subject is None:
            raise LogoutTokenError("neither sid nor sub names whom to log out")
        token_id = _identifier(claims, "jti")
        if token_id is None:
            raise LogoutTokenError("the jti claim must be a non-empty string")
        return LogoutRequest(session_id, subject, token_id, float(claims["exp"]))

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        issued, expires = claims["iat"], claims["exp"]
        if not _is_number(issued) or not _is_number(expires):
            raise LogoutTokenError("iat and exp must be numbers")
        if issued - self._skew > now:
            raise LogoutTokenError("issued in the future")
        if issued + self._max_age + self._skew < now:
            raise LogoutTokenError("issued too long ago")
        if expires + self._skew <= now:
            raise LogoutTokenError("expired")


def _check_events(events: object) -> None:
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenError("the events claim lacks the back-channel logout event")


def _identifier(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise LogoutTokenError(f"the {name} claim must be a non-empty string")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
