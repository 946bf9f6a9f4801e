"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, OIDC Core §3.1.3).

Request (after client authentication)::

    POST /token
    grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA
    &redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&code_verifier=dBjftJeZ4CVP...

Response::

    {"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 600,
     "scope": "openid profile offline_access", "id_token": "eyJ...",
     "refresh_token": "8xLOxBtZp8..."}

Validation: the code exists and is unused (taken atomically), was issued to this client
for this exact redirect URI, and the PKCE verifier hashes to its challenge. A code seen
twice is refused and every token issued from it — access token and refresh token family
— is revoked (RFC 6749 §4.1.2).

With a DPoP proof (RFC 9449 §5) the access token is bound to the proof's key
(``cnf.jkt``, ``token_type: DPoP``), and so is a public client's refresh token; a code
bound to a key (``dpop_jkt`` at the authorization or PAR endpoint, §10) is redeemed only
with a proof by that key.

A refresh token is issued only when the citizen granted ``offline_access`` (OIDC Core §11)
to a client registered for the ``refresh_token`` grant. A client registered for
back-channel logout is noted as a participant of the citizen's SSO session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity_service.oidc import pkce
from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.backchannel import SessionParticipants
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.codes import AuthorizationCodes, CodeGrant
from identity_service.oidc.dpop import DpopProof
from identity_service.oidc.errors import InvalidGrantError, InvalidRequestError
from identity_service.oidc.grants.citizen_tokens import (
    CitizenAuthentication,
    CitizenTokens,
    new_token_id,
    token_type,
)
from identity_service.oidc.levels import acr_for_level, amr_for_level
from identity_service.oidc.metadata import OFFLINE_ACCESS_SCOPE
from identity_service.oidc.refresh_tokens import RefreshTokens, new_family_id
from identity_service.oidc.token_events import TokenEvents

GRANT_TYPE = "authorization_code"
REFRESH_GRANT_TYPE = "refresh_token"


class AuthorizationCodeGrant:
    def __init__(
        self,
        *,
        codes: AuthorizationCodes,
        citizen_tokens: CitizenTokens,
        access_tokens: AccessTokenRecords,
        refresh_tokens: RefreshTokens,
        participants: SessionParticipants,
        events: TokenEvents,
    ) -> None:
        self._codes = codes
        self._citizen_tokens = citizen_tokens
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._participants = participants
        self._events = events

    def exchange(
        self, client: RegisteredClient, form: Mapping[str, str], dpop: DpopProof | None = None
    ) -> dict[str, Any]:
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
        if grant.dpop_jkt is not None and (dpop is None or dpop.jkt != grant.dpop_jkt):
            raise InvalidGrantError("the code is bound to a DPoP key this request does not prove")
        return self._issue(client, grant, code, dpop)

    def stays_in_state_store(self, code: str | None) -> bool:
        """Whether redeeming ``code`` reads and writes the state store only: a live code
        without ``offline_access``, so no refresh token is stored and no family revoked."""
        grant = self._codes.peek(code) if code else None
        return grant is not None and OFFLINE_ACCESS_SCOPE not in grant.scopes

    def _unknown_or_replayed(self, code: str) -> InvalidGrantError:
        redemption = self._codes.redemption(code)
        if redemption is None:
            return InvalidGrantError("the code is invalid or expired")
        for jti in redemption.access_token_ids:
            self._access_tokens.revoke(jti, self._citizen_tokens.access_token_ttl)
        if redemption.refresh_family is not None:
            self._refresh_tokens.revoke_family(redemption.refresh_family)
        return InvalidGrantError("the code was already used; the tokens issued with it are revoked")

    def _issue(
        self, client: RegisteredClient, grant: CodeGrant, code: str, dpop: DpopProof | None
    ) -> dict[str, Any]:
        jti = new_token_id()
        offline = OFFLINE_ACCESS_SCOPE in grant.scopes and REFRESH_GRANT_TYPE in client.grant_types
        family_id = new_family_id() if offline else None
        # Remembered before signing, so a replay racing this request still finds the tokens.
        self._codes.remember_redemption(
            code, [jti], self._citizen_tokens.access_token_ttl, refresh_family=family_id
        )
        authentication = CitizenAuthentication(
            personal_id_number=grant.personal_id_number,
            acr=acr_for_level(grant.level),
            amr=tuple(amr_for_level(grant.level)),
            auth_time=grant.auth_time,
            sid=grant.sid,
        )
        jkt = None if dpop is None else dpop.jkt
        access_token = self._citizen_tokens.access_token(
            client, authentication, grant.scopes, jti, dpop_jkt=jkt
        )
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": token_type(dpop),
            "expires_in": self._citizen_tokens.access_token_ttl,
            "scope": " ".join(grant.scopes),
            "id_token": self._citizen_tokens.id_token(
                client, authentication, access_token=access_token, nonce=grant.nonce
            ),
        }
        if family_id is not None:
            body["refresh_token"] = self._refresh_tokens.issue(
                family_id=family_id,
                client_id=client.client_id,
                personal_id_number=grant.personal_id_number,
                scopes=grant.scopes,
                acr=authentication.acr,
                amr=authentication.amr,
                auth_time=grant.auth_time,
                sid=grant.sid,
                access_token_jti=jti,
                # Confidential clients' refresh tokens are bound by client authentication.
                dpop_jkt=jkt if client.is_public else None,
            )
        if client.backchannel_logout_uri:
            self._participants.joined(
                grant.sid,
                client.client_id,
                self._citizen_tokens.subject(client, grant.personal_id_number),
            )
        self._events.issued(
            GRANT_TYPE,
            client.client_id,
            scope=body["scope"],
            jti=jti,
            subject=grant.personal_id_number,
            level=grant.level,
            refresh_family=family_id,
        )
        return body
