"""What routes depend on: the service container ``create_app`` builds, as FastAPI deps.

``IdentityServices`` holds every long-lived service of one app instance (built once by
``identity_service.app.create_app``, kept on ``app.state``). Routes declare
``services: ServicesDep`` and reach what they need through it; nothing is constructed
per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from identity_service.account_page import AccountPageService
from identity_service.accounts.service import AccountService
from identity_service.audit import AuditLog
from identity_service.audit_writer import AuditWriter
from identity_service.config import IdentitySettings
from identity_service.keys import KeyStore
from identity_service.kyc import KycService
from identity_service.kyc_access import KycAccess
from identity_service.metrics import Metrics
from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.authorization import AuthorizationFlow
from identity_service.oidc.backchannel import BackchannelNotifier
from identity_service.oidc.claims import ClaimsService
from identity_service.oidc.client_auth import ClientAuthenticator
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.consent import ConsentService
from identity_service.oidc.dpop import DpopVerifier
from identity_service.oidc.grants.authorization_code import AuthorizationCodeGrant
from identity_service.oidc.grants.client_credentials import ClientCredentialsGrant
from identity_service.oidc.grants.refresh_token import RefreshTokenGrant
from identity_service.oidc.interactions import InteractionStore
from identity_service.oidc.introspection import TokenIntrospection
from identity_service.oidc.logout import EndSession
from identity_service.oidc.metadata import ProviderUrls
from identity_service.oidc.refresh_tokens import RefreshTokens
from identity_service.oidc.request_sources import AuthorizationRequests
from identity_service.oidc.revocation import TokenRevocation
from identity_service.oidc.sessions import SsoSessions
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.state import StateStore
from identity_service.tokens import TokenService
from population_db.registry import PopulationRegistry


@dataclass(frozen=True, slots=True)
class IdentityServices:
    settings: IdentitySettings
    urls: ProviderUrls
    identity_engine: Engine
    population: PopulationRegistry
    state: StateStore
    keys: KeyStore
    tokens: TokenService
    clients: ClientRegistry
    accounts: AccountService
    sessions: SsoSessions
    consents: ConsentService
    interactions: InteractionStore
    flow: AuthorizationFlow
    client_authenticator: ClientAuthenticator
    # Where authorization requests come from (query, request object, PAR) and DPoP proofs.
    authorization_requests: AuthorizationRequests
    dpop: DpopVerifier
    code_grant: AuthorizationCodeGrant
    # The token lifecycle (oidc.lifecycle): refresh tokens, client credentials,
    # introspection, revocation, logout and its back-channel notifications.
    refresh_tokens: RefreshTokens
    refresh_grant: RefreshTokenGrant
    client_credentials_grant: ClientCredentialsGrant
    introspection: TokenIntrospection
    revocation: TokenRevocation
    end_session: EndSession
    backchannel: BackchannelNotifier
    access_tokens: AccessTokenRecords
    subjects: PairwiseSubjects
    claims: ClaimsService
    # The hash-chained audit log (reading, verifying) and its group-commit writer (appends).
    audit: AuditLog
    audit_writer: AuditWriter
    metrics: Metrics
    kyc: KycService
    kyc_access: KycAccess
    account_page: AccountPageService
    # Issuer is https: cookies get the Secure attribute.
    secure_cookies: bool
    # State in this process's memory and both databases in local SQLite files: a store
    # call cannot wait on a network, so the hottest routes may run on the event loop.
    # With Redis or PostgreSQL a call can wait up to its timeout (a dependency that
    # hangs), which on the loop would stall every request of the process.
    local_storage: bool
    # Discovery document serialised once (it never changes while the app runs).
    discovery_json: bytes


async def get_services(request: Request) -> IdentityServices:
    # Asynchronous on purpose: FastAPI runs a plain function dependency in its thread pool,
    # which would cost every request a thread hop just to read an attribute.
    return request.app.state.services


ServicesDep = Annotated[IdentityServices, Depends(get_services)]


def client_ip(request: Request) -> str:
    """The peer address (uvicorn's ``--proxy-headers`` puts a trusted proxy's client here)."""
    return request.client.host if request.client else "unknown"
