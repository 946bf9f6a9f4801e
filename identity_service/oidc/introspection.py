"""Token introspection (RFC 7662) for authenticated clients.

A client may introspect only the tokens issued to it. Anything else — a forged, expired,
revoked or spent token, one issued to another client, one we never issued — gets
``{"active": false}`` and not a word more (RFC 7662 §2.2), so the endpoint cannot be used
to probe other clients' tokens.

Access tokens are checked as userinfo checks them (signature, ``typ``, issuer, audience,
lifetime) and against the state store: a revoked ``jti`` is inactive at once, and a
citizen's token (one with ``openid``) must still be on record. Refresh tokens are active
while unused, unrevoked and unexpired. ``token_type_hint`` only chooses which kind is
tried first; a refresh token is never a JWT and an access token always is, so at most
one lookup does real work.

A DPoP-bound token (RFC 9449 §6.2) is answered with ``token_type: DPoP`` and its
``cnf.jkt``, so a resource server checks the proof that came with it against that key.

Active answer for an access token::

    {"active": true, "scope": "openid profile", "client_id": "demo-bank",
     "token_type": "Bearer", "sub": "<pairwise>", "aud": "https://id.natid.test",
     "iss": "https://id.natid.test", "exp": 1700000600, "iat": 1700000000,
     "jti": "...", "acr": "urn:natid:acr:level2", "auth_time": 1699999990}
"""

from __future__ import annotations

from typing import Any

from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.dpop import bound_key
from identity_service.oidc.refresh_tokens import RefreshTokens
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.tokens import InvalidTokenError, TokenService

INACTIVE: dict[str, Any] = {"active": False}
MAX_TOKEN_LENGTH = 8192
ACCESS_TOKEN_HINT = "access_token"
REFRESH_TOKEN_HINT = "refresh_token"
_ACCESS_TOKEN_FIELDS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
_OPTIONAL_FIELDS = ("acr", "auth_time")


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def access_token_is_citizens(claims: dict[str, Any]) -> bool:
    """Citizen tokens always carry ``openid``; machine tokens (client credentials) never."""
    scope = claims.get("scope")
    return isinstance(scope, str) and "openid" in scope.split()


class TokenIntrospection:
    def __init__(
        self,
        *,
        tokens: TokenService,
        access_tokens: AccessTokenRecords,
        refresh_tokens: RefreshTokens,
        subjects: PairwiseSubjects,
    ) -> None:
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._subjects = subjects

    def introspect(
        self, client: RegisteredClient, token: str, hint: str | None = None
    ) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return dict(INACTIVE)
        kinds = (self._access_token, self._refresh_token)
        if hint == REFRESH_TOKEN_HINT:
            kinds = (self._refresh_token, self._access_token)
        for kind in kinds:
            answer = kind(client, token)
            if answer is not None:
                return answer
        return dict(INACTIVE)

    def active_access_token(self, token: str) -> dict[str, Any] | None:
        """The claims of an access token that is valid and not revoked, else None.

        For resource endpoints that accept our access tokens (userinfo, the e-KYC API).
        """
        if not looks_like_jwt(token) or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            claims = self._tokens.verify_access_token(token)
        except InvalidTokenError:
            return None
        jti = claims["jti"]
        if not isinstance(jti, str) or self._access_tokens.is_revoked(jti):
            return None
        if access_token_is_citizens(claims):
            record = self._access_tokens.lookup(jti)
            if record is None or record.client_id != claims.get("client_id"):
                return None
        return claims

    def _access_token(self, client: RegisteredClient, token: str) -> dict[str, Any] | None:
        if not looks_like_jwt(token):
            return None
        claims = self.active_access_token(token)
        if claims is None or claims.get("client_id") != client.client_id:
            return None
        jkt = bound_key(claims)
        answer: dict[str, Any] = {"active": True, "token_type": "Bearer" if jkt is None else "DPoP"}
        for name in (*_ACCESS_TOKEN_FIELDS, *_OPTIONAL_FIELDS):
            if name in claims:
                answer[name] = claims[name]
        if jkt is not None:
            answer["cnf"] = {"jkt": jkt}
        return answer

    def _refresh_token(self, client: RegisteredClient, token: str) -> dict[str, Any] | None:
        if looks_like_jwt(token):
            return None
        stored = self._refresh_tokens.lookup(token)
        if stored is None or not stored.usable or stored.grant.client_id != client.client_id:
            return None
        grant = stored.grant
        answer: dict[str, Any] = {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(grant.scopes),
            "client_id": grant.client_id,
            "sub": self._subjects.subject(client.sector_identifier, grant.personal_id_number),
            "iss": self._tokens.issuer,
            "exp": grant.expires_at,
            "iat": grant.issued_at,
            "acr": grant.acr,
            "auth_time": grant.auth_time,
        }
        if grant.dpop_jkt is not None:
            answer["cnf"] = {"jkt": grant.dpop_jkt}
        return answer
