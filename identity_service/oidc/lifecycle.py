"""Wiring the token lifecycle: grants, refresh tokens, introspection, revocation, logout.

``build_token_lifecycle`` builds, from the provider's shared services, everything that
issues, inspects, revokes and ends tokens and sessions, so ``create_app`` adds them with
one call. Nothing here holds state of its own beyond what the parts keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from identity_service.config import IdentitySettings
from identity_service.keys import KeyStore
from identity_service.metrics import Metrics
from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.backchannel import (
    BackchannelNotifier,
    LogoutTokens,
    SessionParticipants,
)
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.codes import AuthorizationCodes
from identity_service.oidc.grants.authorization_code import AuthorizationCodeGrant
from identity_service.oidc.grants.citizen_tokens import CitizenTokens
from identity_service.oidc.grants.client_credentials import ClientCredentialsGrant
from identity_service.oidc.grants.refresh_token import RefreshTokenGrant
from identity_service.oidc.introspection import TokenIntrospection
from identity_service.oidc.logout import EndSession
from identity_service.oidc.refresh_tokens import RefreshTokens
from identity_service.oidc.revocation import TokenRevocation
from identity_service.oidc.sessions import SsoSessions
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.oidc.token_events import AuditRecorder, TokenEvents
from identity_service.state import StateStore
from identity_service.tokens import TokenService


@dataclass(frozen=True, slots=True)
class TokenLifecycle:
    code_grant: AuthorizationCodeGrant
    refresh_tokens: RefreshTokens
    refresh_grant: RefreshTokenGrant
    client_credentials_grant: ClientCredentialsGrant
    introspection: TokenIntrospection
    revocation: TokenRevocation
    end_session: EndSession
    backchannel: BackchannelNotifier


def build_token_lifecycle(
    *,
    settings: IdentitySettings,
    engine: Engine,
    server_secret: bytes,
    keys: KeyStore,
    tokens: TokenService,
    clients: ClientRegistry,
    codes: AuthorizationCodes,
    sessions: SsoSessions,
    state: StateStore,
    access_tokens: AccessTokenRecords,
    subjects: PairwiseSubjects,
    audit: AuditRecorder,
    metrics: Metrics,
    clock: Callable[[], float] = time.time,
    backchannel_transport: httpx.AsyncBaseTransport | None = None,
) -> TokenLifecycle:
    events = TokenEvents(audit, metrics)
    refresh_tokens = RefreshTokens(
        engine,
        server_secret,
        access_tokens=access_tokens,
        access_token_ttl=settings.access_token_ttl,
        ttl=settings.refresh_token_ttl,
        clock=clock,
    )
    citizen_tokens = CitizenTokens(
        tokens=tokens,
        access_tokens=access_tokens,
        subjects=subjects,
        access_token_ttl=settings.access_token_ttl,
        id_token_ttl=settings.id_token_ttl,
    )
    participants = SessionParticipants(state, settings.sso_session_ttl)
    return TokenLifecycle(
        code_grant=AuthorizationCodeGrant(
            codes=codes,
            citizen_tokens=citizen_tokens,
            access_tokens=access_tokens,
            refresh_tokens=refresh_tokens,
            participants=participants,
            events=events,
        ),
        refresh_tokens=refresh_tokens,
        refresh_grant=RefreshTokenGrant(
            refresh_tokens=refresh_tokens, citizen_tokens=citizen_tokens, events=events
        ),
        client_credentials_grant=ClientCredentialsGrant(
            tokens=tokens, events=events, access_token_ttl=settings.access_token_ttl
        ),
        introspection=TokenIntrospection(
            tokens=tokens,
            access_tokens=access_tokens,
            refresh_tokens=refresh_tokens,
            subjects=subjects,
        ),
        revocation=TokenRevocation(
            tokens=tokens,
            access_tokens=access_tokens,
            refresh_tokens=refresh_tokens,
            events=events,
            clock=clock,
        ),
        end_session=EndSession(
            keys=keys,
            issuer=tokens.issuer,
            clients=clients,
            sessions=sessions,
            state=state,
            participants=participants,
            logout_tokens=LogoutTokens(keys, tokens.issuer, clock=clock),
        ),
        backchannel=BackchannelNotifier(transport=backchannel_transport),
    )
