"""Minting the tokens a portal receives about a citizen, shared by the code and refresh grants.

An access token (RFC 9068) whose ``sub`` is the citizen's pairwise subject for the portal,
remembered in the state store for userinfo and introspection; an ID token signed with the
portal's registered algorithm, carrying the authentication that was actually achieved
(``acr``, ``amr``, ``auth_time``, ``sid``) and the ``at_hash`` of the access token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from identity_service.oidc.access_tokens import AccessTokenRecords, IssuedAccessToken
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.dpop import DpopProof
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.tokens import TokenService, access_token_digest


@dataclass(frozen=True, slots=True)
class CitizenAuthentication:
    """Who authenticated, how strongly and in which SSO session."""

    personal_id_number: str
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str | None


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


def token_type(dpop: DpopProof | None) -> str:
    """``token_type`` of a token response: ``DPoP`` for a key-bound token (RFC 9449 §5)."""
    return "Bearer" if dpop is None else "DPoP"


class CitizenTokens:
    def __init__(
        self,
        *,
        tokens: TokenService,
        access_tokens: AccessTokenRecords,
        subjects: PairwiseSubjects,
        access_token_ttl: int,
        id_token_ttl: int,
    ) -> None:
        self._tokens = tokens
        self._access_tokens = access_tokens
        self._subjects = subjects
        self.access_token_ttl = access_token_ttl
        self.id_token_ttl = id_token_ttl

    def subject(self, client: RegisteredClient, personal_id_number: str) -> str:
        return self._subjects.subject(client.sector_identifier, personal_id_number)

    def access_token(
        self,
        client: RegisteredClient,
        authentication: CitizenAuthentication,
        scopes: tuple[str, ...],
        jti: str,
        dpop_jkt: str | None = None,
    ) -> str:
        """A signed access token, remembered under ``jti`` for its lifetime; bound to the
        DPoP key ``dpop_jkt`` when given."""
        token = self._tokens.access_token(
            client_id=client.client_id,
            subject=self.subject(client, authentication.personal_id_number),
            scope=" ".join(scopes),
            ttl=self.access_token_ttl,
            acr=authentication.acr,
            auth_time=authentication.auth_time,
            jti=jti,
            confirmation_jkt=dpop_jkt,
        )
        self._access_tokens.remember(
            IssuedAccessToken(
                jti=jti,
                personal_id_number=authentication.personal_id_number,
                client_id=client.client_id,
                scopes=scopes,
                digest=access_token_digest(token),
            ),
            self.access_token_ttl,
        )
        return token

    def id_token(
        self,
        client: RegisteredClient,
        authentication: CitizenAuthentication,
        *,
        access_token: str,
        nonce: str | None,
    ) -> str:
        return self._tokens.id_token(
            client_id=client.client_id,
            subject=self.subject(client, authentication.personal_id_number),
            alg=client.id_token_signed_response_alg,
            ttl=self.id_token_ttl,
            auth_time=authentication.auth_time,
            nonce=nonce,
            acr=authentication.acr,
            amr=authentication.amr,
            sid=authentication.sid,
            access_token=access_token,
        )
