"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, OIDC Core §3.1.3).

Request (after client authentication)::

    POST /token
    grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA
    &redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&code_verifier=dBjftJeZ4CVP...

Response::

    {"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 600,
     "scope": "openid profile", "id_token": "eyJ..."}

Validation: the code exists and is unused (taken atomically), was issued to this client
for this exact redirect URI, and the PKCE verifier hashes to its challenge. A code seen
twice is refused and every access token issued from it is revoked (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from identity_service.oidc import pkce
from identity_service.oidc.access_tokens import AccessTokenRecords, IssuedAccessToken
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.codes import AuthorizationCodes, CodeGrant
from identity_service.oidc.errors import InvalidGrantError, InvalidRequestError
from identity_service.oidc.levels import acr_for_level, amr_for_level
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.tokens import TokenService

GRANT_TYPE = "authorization_code"


class AuthorizationCodeGrant:
    def __init__(
        self,
        *,
        codes: AuthorizationCodes,
        tokens: TokenService,
        access_tokens: AccessTokenRecords,
        subjects: PairwiseSubjects,
        access_token_ttl: int,
        id_token_ttl: int,
    ) -> None:
        self._codes = codes
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._subjects = subjects
        self._access_token_ttl = access_token_ttl
        self._id_token_ttl = id_token_ttl

    def exchange(self, client: RegisteredClient, form: Mapping[str, str]) -> dict[str, Any]:
        """Validate the request for ``client`` and issue its tokens (the response body)."""
        for name in ("code", "redirect_uri", "code_verifier"):
            if not form.get(name):
                raise InvalidRequestError(f"{name} is required")
        code, redirect_uri = form["code"], form["redirect_uri"]
        grant = self._codes.redeem(code)
        if grant is None:
            raise self._unknown_or_replayed(code)
        if grant.client_id != client.client_id:
            raise InvalidGrantError("the code was issued to another client")
        if grant.redirect_uri != redirect_uri:
            raise InvalidGrantError("redirect_uri differs from the authorization request")
        if not pkce.verify(form["code_verifier"], grant.code_challenge):
            raise InvalidGrantError("the PKCE code_verifier does not match the code_challenge")
        return self._issue(client, grant, code)

    def _unknown_or_replayed(self, code: str) -> InvalidGrantError:
        issued = self._codes.redeemed_token_ids(code)
        if issued is None:
            return InvalidGrantError("the code is invalid or expired")
        for jti in issued:
            self._access_tokens.revoke(jti, self._access_token_ttl)
        return InvalidGrantError("the code was already used; the tokens issued with it are revoked")

    def _issue(self, client: RegisteredClient, grant: CodeGrant, code: str) -> dict[str, Any]:
        jti = secrets.token_urlsafe(16)
        # Remembered before signing, so a replay racing this request still finds the token.
        self._codes.remember_redemption(code, [jti], self._access_token_ttl)
        subject = self._subjects.subject(client.sector_identifier, grant.personal_id_number)
        scope = " ".join(grant.scopes)
        acr = acr_for_level(grant.level)
        access_token = self._tokens.access_token(
            client_id=client.client_id,
            subject=subject,
            scope=scope,
            ttl=self._access_token_ttl,
            acr=acr,
            auth_time=grant.auth_time,
            jti=jti,
        )
        self._access_tokens.remember(
            IssuedAccessToken(
                jti=jti,
                personal_id_number=grant.personal_id_number,
                client_id=client.client_id,
                scopes=grant.scopes,
            ),
            self._access_token_ttl,
        )
        id_token = self._tokens.id_token(
            client_id=client.client_id,
            subject=subject,
            alg=client.id_token_signed_response_alg,
            ttl=self._id_token_ttl,
            auth_time=grant.auth_time,
            nonce=grant.nonce,
            acr=acr,
            amr=amr_for_level(grant.level),
            sid=grant.sid,
            access_token=access_token,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self._access_token_ttl,
            "scope": scope,
            "id_token": id_token,
        }
