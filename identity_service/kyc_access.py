"""Who may call the e-KYC verify API, and how often.

Owns the bearer-token check of the API (RFC 6750) and the per-relying-party limits.

* **Token.** An RFC 9068 access token we issued (``TokenService.verify_access_token``)
  through the client credentials grant: scope ``kyc.verify``, ``sub`` equal to
  ``client_id`` (a token a citizen's login produced never qualifies), its ``jti`` not
  revoked, its client still registered for the scope. A relying party reuses one token
  for many calls, so a verified token's claims are cached (bounded) and later calls
  check only what can change: expiry, revocation, the registration, and whether the key
  that signed it is still published (an emergency rotation withdraws it at once). A DPoP-bound
  token (a back-end registered for DPoP) comes with the ``DPoP`` scheme and a fresh proof
  by its key on every call (RFC 9449 §7); a bound token sent as ``Bearer`` is refused.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.dpop import (
    DPOP_SCHEME,
    DpopVerifier,
    PresentedToken,
    bound_key,
    check_token_binding,
    presented_token,
)
from identity_service.oidc.errors import OAuthError
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
    """No usable token or proof (HTTP 401): ``error`` is ``invalid_token``,
    ``invalid_dpop_proof`` or ``use_dpop_nonce``; ``missing`` when no token was sent;
    ``dpop`` when the answer's challenge is the DPoP scheme's."""

    def __init__(
        self,
        description: str,
        *,
        missing: bool = False,
        error: str = "invalid_token",
        dpop: bool = False,
    ) -> None:
        self.description = description
        self.missing = missing
        self.error = error
        self.dpop = dpop
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
        dpop: DpopVerifier | None = None,
        endpoint_url: str = "",
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._dpop = dpop
        self._endpoint_url = endpoint_url
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._clients = clients
        self._state = state
        self._requests_per_second = requests_per_second
        self._daily_quota = daily_quota
        self._clock = clock
        self._cache_size = cache_size
        # token → (its verified claims, the kid of the key that signed it)
        self._verified: dict[str, tuple[dict[str, Any], str]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, dpop_proofs: Sequence[str] = ()) -> KycCaller:
        """The relying party behind an ``Authorization`` header value (and the request's
        ``DPoP`` headers), or an error."""
        presented = presented_token(authorization)
        if presented is None:
            raise KycTokenError("a bearer access token is required", missing=True)
        token = presented.token
        dpop = presented.scheme == DPOP_SCHEME
        if len(token) > MAX_TOKEN_LENGTH:
            raise KycTokenError("the access token is not valid", dpop=dpop)
        cached = self._verified.get(token)
        if cached is None:
            claims = self._verify(token, dpop)
        else:
            claims, kid = cached
            if claims["exp"] <= self._clock() or not self._tokens.key_is_published(kid):
                with self._lock:
                    self._verified.pop(token, None)
                raise KycTokenError("the access token is not valid", dpop=dpop)
        self._check_binding(claims, presented, dpop_proofs)
        dpop = dpop or bound_key(claims) is not None
        client_id, jti = claims["client_id"], claims["jti"]
        if not isinstance(jti, str) or self._access_tokens.is_revoked(jti):
            raise KycTokenError("the access token was revoked", dpop=dpop)
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

    def _check_binding(
        self, claims: dict[str, Any], presented: PresentedToken, dpop_proofs: Sequence[str]
    ) -> None:
        dpop = presented.scheme == DPOP_SCHEME or bound_key(claims) is not None
        if self._dpop is None:
            if dpop:
                raise KycTokenError("DPoP is not accepted here", dpop=True)
            return
        try:
            check_token_binding(
                self._dpop,
                claims,
                presented,
                dpop_proofs,
                method="POST",
                url=self._endpoint_url,
            )
        except OAuthError as error:
            raise KycTokenError(
                error.description or error.error, error=error.error, dpop=dpop
            ) from None

    def _verify(self, token: str, dpop: bool) -> dict[str, Any]:
        try:
            claims = self._tokens.verify_access_token(token)
        except InvalidTokenError:
            raise KycTokenError("the access token is not valid", dpop=dpop) from None
        scopes = str(claims.get("scope", "")).split()
        if KYC_VERIFY_SCOPE not in scopes:
            raise KycScopeError("the kyc.verify scope is required")
        if not isinstance(claims["client_id"], str) or claims["sub"] != claims["client_id"]:
            raise KycScopeError("a relying party's own token (client credentials) is required")
        kid = jwt.get_unverified_header(token)["kid"]  # verify_access_token checked it
        with self._lock:
            if len(self._verified) >= self._cache_size:
                self._verified.clear()
            self._verified[token] = (claims, kid)
        return claims
