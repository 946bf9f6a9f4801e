"""Token revocation (RFC 7009) for authenticated clients.

A client may revoke only its own tokens (§2.1). The answer never says whether anything
was revoked: an unknown, expired, foreign or already revoked token is accepted silently
(§2.2), so the endpoint reveals nothing about other clients' tokens.

* A refresh token ends its whole grant: every token of its family and the access tokens
  issued from them.
* An access token's ``jti`` is marked revoked in the state store until the token
  expires, so userinfo, introspection and every other process sharing the store reject
  it at once.

``token_type_hint`` chooses which kind is looked at first; an unknown hint is ignored
(§2.1 lets the server search all kinds).

``revoke_grants_of`` is for the citizen's side: withdrawing consent from a portal ends all
of that portal's refresh grants for the citizen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.introspection import (
    MAX_TOKEN_LENGTH,
    REFRESH_TOKEN_HINT,
    looks_like_jwt,
)
from identity_service.oidc.refresh_tokens import RefreshTokens
from identity_service.oidc.token_events import TokenEvents
from identity_service.tokens import InvalidTokenError, TokenService

REASON = "revocation_request"


class TokenRevocation:
    def __init__(
        self,
        *,
        tokens: TokenService,
        access_tokens: AccessTokenRecords,
        refresh_tokens: RefreshTokens,
        events: TokenEvents,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._events = events
        self._clock = clock

    def revoke(self, client: RegisteredClient, token: str, hint: str | None = None) -> None:
        """Revoke ``token`` if it is a live token of ``client``; otherwise do nothing."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return
        kinds = (self._access_token, self._refresh_token)
        if hint == REFRESH_TOKEN_HINT:
            kinds = (self._refresh_token, self._access_token)
        for kind in kinds:
            if kind(client, token):
                return

    def revoke_grants_of(
        self, personal_id_number: str, client_id: str, *, reason: str = "consent_withdrawn"
    ) -> int:
        """End every refresh grant of a citizen at a portal (consent withdrawn on the
        account page) and the access tokens issued from them; the number of live access
        tokens revoked."""
        revoked = self._refresh_tokens.revoke_grants(personal_id_number, client_id)
        self._events.revoked(
            client_id,
            reason=reason,
            token_type="refresh_token",
            subject=personal_id_number,
            access_tokens=revoked,
        )
        return revoked

    def _access_token(self, client: RegisteredClient, token: str) -> bool:
        if not looks_like_jwt(token):
            return False
        try:
            claims = self._tokens.verify_access_token(token)
        except InvalidTokenError:
            return True  # ours or not, it is not usable: nothing to do
        jti = claims["jti"]
        if claims.get("client_id") != client.client_id or not isinstance(jti, str):
            return True
        record = self._access_tokens.lookup(jti)
        remaining = int(claims["exp"] - self._clock())
        self._access_tokens.revoke(jti, max(remaining, 1))
        self._events.revoked(
            client.client_id,
            reason=REASON,
            token_type="access_token",
            subject=None if record is None else record.personal_id_number,
            jti=jti,
        )
        return True

    def _refresh_token(self, client: RegisteredClient, token: str) -> bool:
        if looks_like_jwt(token):
            return False
        stored = self._refresh_tokens.lookup(token)
        if stored is None or stored.grant.client_id != client.client_id or stored.revoked:
            return stored is not None
        grant = stored.grant
        revoked = self._refresh_tokens.revoke_family(grant.family_id)
        self._events.revoked(
            client.client_id,
            reason=REASON,
            token_type="refresh_token",
            subject=grant.personal_id_number,
            refresh_family=grant.family_id,
            access_tokens=revoked,
        )
        return True
