"""Who may call the e-KYC verify API, and how often.

Owns the bearer-token check of the API (RFC 6750) and the per-relying-party limits.

* **Token.** An RFC 9068 access token we issued (``TokenService.verify_access_token``)
  through the client credentials grant: scope ``kyc.verify``, ``sub`` equal to
  ``client_id`` (a token a citizen's login produced never qualifies), its ``jti`` not
  revoked, its client still registered for the scope. A relying party reuses one token
  for many calls, so a verified token's claims are cached (bounded) and later calls
  check only what can change: expiry, revocation and the registration.
* **Limits.** Per relying party, in the shared state store so every process counts
  together: at most ``requests_per_second`` calls in one wall-clock second (a burst
  limit) and ``daily_quota`` calls per calendar day in Vietnam (UTC+7). Past either,
  ``KycLimitError`` says how long to wait (HTTP 429 with ``Retry-After``). Every
  authenticated call counts, well-formed or not: a malformed one costs the service work
  too. Limits apply to every relying party alike (``NATID_KYC_REQUESTS_PER_SECOND``,
  ``NATID_KYC_DAILY_QUOTA``); there is no per-client override yet.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.metadata import KYC_VERIFY_SCOPE
from identity_service.state import StateStore
from identity_service.tokens import InvalidTokenError, TokenService

MAX_TOKEN_LENGTH = 8192
DEFAULT_CACHE_SIZE = 4096
VIETNAM_UTC_OFFSET_SECONDS = 7 * 3600
DAY_SECONDS = 24 * 3600


class KycAccessError(Exception):
    """A call the API refuses before looking at its body."""


class KycTokenError(KycAccessError):
    """No usable token (HTTP 401 ``invalid_token``); ``missing`` when none was sent."""

    def __init__(self, description: str, *, missing: bool = False) -> None:
        self.description = description
        self.missing = missing
        super().__init__(description)


class KycScopeError(KycAccessError):
    """A valid token without the right to verify (HTTP 403 ``insufficient_scope``)."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(description)


class KycLimitError(KycAccessError):
    """Over the burst limit (``rate_limited``) or the day's quota (``quota_exceeded``)."""

    def __init__(self, reason: str, retry_after: int) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(f"{reason}: retry after {retry_after} s")


@dataclass(frozen=True, slots=True)
class KycCaller:
    client_id: str
    jti: str


class KycAccess:
    def __init__(
        self,
        *,
        tokens: TokenService,
        access_tokens: AccessTokenRecords,
        clients: ClientRegistry,
        state: StateStore,
        requests_per_second: int,
        daily_quota: int,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._clients = clients
        self._state = state
        self._requests_per_second = requests_per_second
        self._daily_quota = daily_quota
        self._clock = clock
        self._cache_size = cache_size
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> KycCaller:
        """The relying party behind an ``Authorization`` header value, or an error."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise KycTokenError("a bearer access token is required", missing=True)
        if len(token) > MAX_TOKEN_LENGTH:
            raise KycTokenError("the access token is not valid")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
        elif claims["exp"] <= self._clock():
            with self._lock:
                self._verified.pop(token, None)
            raise KycTokenError("the access token is not valid")
        client_id, jti = claims["client_id"], claims["jti"]
        if not isinstance(jti, str) or self._access_tokens.is_revoked(jti):
            raise KycTokenError("the access token was revoked")
        client = self._clients.get(client_id)
        if client is None or not client.allows_scope(KYC_VERIFY_SCOPE):
            raise KycScopeError("the client is not registered for kyc.verify")
        return KycCaller(client_id=client_id, jti=jti)

    def admit(self, client_id: str) -> None:
        """Count one call against the client's limits; ``KycLimitError`` past one of them."""
        now = self._clock()
        second = int(now)
        calls = self._state.incr(f"kyc:rate:{client_id}:{second}", ttl=2)
        if calls > self._requests_per_second:
            raise KycLimitError("rate_limited", max(1, math.ceil(second + 1 - now)))
        day = int((now + VIETNAM_UTC_OFFSET_SECONDS) // DAY_SECONDS)
        used = self._state.incr(f"kyc:quota:{client_id}:{day}", ttl=2 * DAY_SECONDS)
        if used > self._daily_quota:
            midnight = (day + 1) * DAY_SECONDS - VIETNAM_UTC_OFFSET_SECONDS
            raise KycLimitError("quota_exceeded", max(1, math.ceil(midnight - now)))

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims = self._tokens.verify_access_token(token)
        except InvalidTokenError:
            raise KycTokenError("the access token is not valid") from None
        scopes = str(claims.get("scope", "")).split()
        if KYC_VERIFY_SCOPE not in scopes:
            raise KycScopeError("the kyc.verify scope is required")
        if not isinstance(claims["client_id"], str) or claims["sub"] != claims["client_id"]:
            raise KycScopeError("a relying party's own token (client credentials) is required")
        with self._lock:
            if len(self._verified) >= self._cache_size:
                self._verified.clear()
            self._verified[token] = claims
        return claims
