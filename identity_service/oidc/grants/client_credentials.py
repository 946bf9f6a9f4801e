"""The client credentials grant for portal back-ends (RFC 6749 §4.4, RFC 9068 §2.2).

Request (after client authentication)::

    POST /token
    grant_type=client_credentials&scope=kyc.verify

Response::

    {"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 600,
     "scope": "kyc.verify"}

The token speaks for the portal itself, not for a citizen: ``sub`` is the client id
(RFC 9068 §2.2), it carries no ``acr`` or ``auth_time``, and there is no ID token and no
refresh token (RFC 6749 §4.4.3). With a DPoP proof the token is bound to its key
(``cnf.jkt``, ``token_type: DPoP``). Only confidential clients may use it, and only for
machine scopes registered for them: ``openid`` and every citizen scope are refused with
``invalid_scope``, because no citizen took part. Without ``scope`` the client gets all
its registered machine scopes (RFC 6749 §3.3).

The token is not remembered in the state store (nothing about a citizen to keep); a
revoked one is rejected through the revoked-``jti`` list until it expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.dpop import DpopProof
from identity_service.oidc.errors import InvalidScopeError, UnauthorizedClientError
from identity_service.oidc.grants.citizen_tokens import new_token_id, token_type
from identity_service.oidc.metadata import MACHINE_SCOPES
from identity_service.oidc.token_events import TokenEvents
from identity_service.tokens import TokenService

GRANT_TYPE = "client_credentials"
MAX_SCOPE_LENGTH = 1024


class ClientCredentialsGrant:
    def __init__(self, *, tokens: TokenService, events: TokenEvents, access_token_ttl: int) -> None:
        self._tokens = tokens
        self._events = events
        self._access_token_ttl = access_token_ttl

    def exchange(
        self, client: RegisteredClient, form: Mapping[str, str], dpop: DpopProof | None = None
    ) -> dict[str, Any]:
        if client.is_public:
            raise UnauthorizedClientError(
                "the client credentials grant needs a confidential client"
            )
        scopes = _machine_scopes(form.get("scope"), client)
        jti = new_token_id()
        scope = " ".join(scopes)
        access_token = self._tokens.access_token(
            client_id=client.client_id,
            subject=client.client_id,
            scope=scope,
            ttl=self._access_token_ttl,
            jti=jti,
            confirmation_jkt=None if dpop is None else dpop.jkt,
        )
        self._events.issued(GRANT_TYPE, client.client_id, scope=scope, jti=jti)
        return {
            "access_token": access_token,
            "token_type": token_type(dpop),
            "expires_in": self._access_token_ttl,
            "scope": scope,
        }


def _machine_scopes(requested: str | None, client: RegisteredClient) -> tuple[str, ...]:
    registered = tuple(scope for scope in client.scopes if scope in MACHINE_SCOPES)
    if requested is None or not requested.split():
        if not registered:
            raise InvalidScopeError("this client has no machine scope registered")
        return registered
    if len(requested) > MAX_SCOPE_LENGTH:
        raise InvalidScopeError("scope is too long")
    asked = list(dict.fromkeys(requested.split()))
    refused = [scope for scope in asked if scope not in registered]
    if refused:
        raise InvalidScopeError(
            "only machine scopes registered for this client can be granted without a "
            f"citizen: {' '.join(refused)[:200]} refused"
        )
    return tuple(asked)
