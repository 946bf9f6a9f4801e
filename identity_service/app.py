"""The application factory of the identity service (the IdP).

``create_app(settings)`` builds everything once — engines, key store, state store, the
client registry (seeded from ``seeds/clients.toml``), the account and OIDC services —
and mounts the routes; nothing is built at import time. ``app_from_environment`` is the
factory uvicorn calls (``natid serve``): the only place settings come from ``NATID_*``.

Errors at the edge: protocol errors render in their protocol's shape; an unavailable
dependency (the state store, a database) gives 503 with ``Retry-After`` as JSON or as a
page; anything unexpected gives a bare 500 without a stack trace.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from identity_service.account_page import AccountPageService
from identity_service.accounts.passwords import hashing_totals
from identity_service.accounts.service import AccountService
from identity_service.api.commit_before_answer import CommitBeforeAnswerMiddleware
from identity_service.api.deps import IdentityServices
from identity_service.api.direct_routes import serve_directly
from identity_service.api.errors import NO_STORE, oauth_error_response
from identity_service.api.pages import STATIC_DIR, PageSkeletons, create_templates, error_page
from identity_service.api.problems import problem_response
from identity_service.api.routes import (
    account,
    authorize,
    debugger,
    discovery,
    interaction,
    introspection,
    jwks,
    kyc,
    logout,
    metrics,
    par,
    registration,
    revocation,
    token,
    userinfo,
)
from identity_service.api.routes.kyc import KYC_VERIFY_PATH
from identity_service.api.security import SecurityHeadersMiddleware
from identity_service.audit import AuditError, AuditLog
from identity_service.audit_writer import AuditWriter
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentityDatabaseError,
    create_identity_engine,
    create_identity_schema,
)
from identity_service.json_logging import RequestIdMiddleware
from identity_service.keys import KeyStore, KeyStoreError
from identity_service.kyc import KycService
from identity_service.kyc_access import KycAccess
from identity_service.limits import RequestLimitsMiddleware
from identity_service.metrics import Metrics, MetricsMiddleware
from identity_service.oidc.access_tokens import AccessTokenRecords
from identity_service.oidc.authorization import AuthorizationFlow
from identity_service.oidc.claims import ClaimsService
from identity_service.oidc.client_auth import ClientAuthenticator
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.client_seeds import load_client_seeds
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.codes import AuthorizationCodes
from identity_service.oidc.consent import ConsentService
from identity_service.oidc.dpop import DpopNonces, DpopVerifier
from identity_service.oidc.errors import InvalidRequestError, OAuthError
from identity_service.oidc.interactions import InteractionStore
from identity_service.oidc.lifecycle import build_token_lifecycle
from identity_service.oidc.metadata import ProviderUrls, discovery_document
from identity_service.oidc.pushed_requests import PushedRequests
from identity_service.oidc.request_objects import RequestObjects
from identity_service.oidc.request_sources import AuthorizationRequests
from identity_service.oidc.sessions import SsoSessions
from identity_service.oidc.subjects import PairwiseSubjects
from identity_service.state import (
    MemoryStateStore,
    StateStore,
    StateStoreUnavailableError,
    create_state_store,
)
from identity_service.tokens import TokenService
from population_db.registry import PopulationRegistry
from population_db.seeds import seeds_dir

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
CLIENT_SEEDS_FILE = "clients.toml"
# Paths answered with HTML pages; every other path is an API answering JSON.
_PAGE_PREFIXES = ("/authorize", "/interaction", "/logout", "/account", "/debugger")
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(
    settings: IdentitySettings,
    *,
    state_store: StateStore | None = None,
    client_seeds: Path | None = None,
    clock: Callable[[], float] = time.time,
    backchannel_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """A ready identity service for ``settings``.

    ``state_store`` defaults to ``create_state_store`` (Redis when ``redis_url`` is set);
    ``client_seeds`` to ``seeds/clients.toml``; ``backchannel_transport`` replaces the
    network for back-channel logout notifications (tests).
    """
    services = build_services(
        settings,
        state_store=state_store,
        clock=clock,
        backchannel_transport=backchannel_transport,
    )
    seeds = client_seeds or seeds_dir() / CLIENT_SEEDS_FILE
    if seeds.exists():
        load_client_seeds(services.clients, seeds)
    else:
        logger.warning("no client seed file at %s; only registered clients exist", seeds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        services.audit_writer.close()
        services.population.close()
        services.identity_engine.dispose()
        close = getattr(services.state, "close", None)
        if close is not None:
            close()

    app = FastAPI(
        title="natid identity service",
        summary="OpenID Connect provider of a simulated national e-ID (synthetic data only)",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks look up the global providers on every request;
        # the service reports through its Prometheus metrics and JSON logs instead.
        telemetry=NO_TELEMETRY,
    )
    app.state.services = services
    app.state.templates = create_templates()
    app.state.page_skeletons = PageSkeletons(app.state.templates)
    # Innermost: oversized requests are refused before routing, with security headers.
    app.add_middleware(RequestLimitsMiddleware)
    # Audited answers wait for their commit here, where the coroutine stack is shallow.
    app.add_middleware(CommitBeforeAnswerMiddleware, unavailable=_audit_unavailable)
    app.add_middleware(SecurityHeadersMiddleware)
    # Added last = outermost: every response is timed and carries the request id.
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    app.add_middleware(RequestIdMiddleware)
    # FastAPI tries the routes in this order, at a few microseconds each (about 200 µs for
    # the last of them), so the hot path comes first: tokens and e-KYC checks, then the
    # steps of a login; pages people open now and then, and static files, last.
    hot_path = (token, kyc, authorize, interaction, userinfo, jwks, introspection)
    rest = (discovery, par, revocation, logout, metrics, account, debugger, registration)
    for module in (*hot_path, *rest):
        app.include_router(module.router)
    # The token endpoint and the e-KYC check skip FastAPI's per-route work altogether.
    serve_directly(app, (module.router for module in hot_path))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_error_handlers(app)
    return app


def build_services(
    settings: IdentitySettings,
    *,
    state_store: StateStore | None = None,
    clock: Callable[[], float] = time.time,
    backchannel_transport: httpx.AsyncBaseTransport | None = None,
) -> IdentityServices:
    """Every long-lived service of one app instance, wired together."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    identity_engine = create_identity_engine(settings.identity_database_url())
    create_identity_schema(identity_engine)
    population = PopulationRegistry.from_url(settings.population_database_url())
    server_secret = settings.server_secret()
    keys = KeyStore.from_settings(identity_engine, settings, clock=clock)
    keys.ensure_keys()
    state = (
        state_store
        if state_store is not None
        else create_state_store(settings.redis_url, prefix=settings.redis_prefix)
    )
    urls = ProviderUrls(settings.issuer.rstrip("/"))
    tokens = TokenService(keys, urls.issuer, clock=clock)
    clients = ClientRegistry(identity_engine, ClientSecretHasher(server_secret))
    sessions = SsoSessions(state, settings.sso_session_ttl, marker_key=server_secret, clock=clock)
    interactions = InteractionStore(state)
    codes = AuthorizationCodes(state, settings.authorization_code_ttl)
    access_tokens = AccessTokenRecords(state)
    subjects = PairwiseSubjects(server_secret)
    consents = ConsentService(identity_engine)
    audit = AuditLog(identity_engine, server_secret, clock=clock)
    # On SQLite the appends of coroutines run on the loop when the lock is free (see
    # ``audit_writer``); on PostgreSQL every commit is a network round trip, kept off it.
    audit_writer = AuditWriter(audit, writes_on_loop=identity_engine.dialect.name == "sqlite")
    accounts = AccountService(identity_engine, population, state, settings, clock=clock)
    flow = AuthorizationFlow(
        sessions=sessions,
        consents=consents,
        codes=codes,
        interactions=interactions,
        issuer=urls.issuer,
        clock=clock,
    )
    metrics = Metrics(password_hashing=hashing_totals)
    dpop = DpopVerifier(
        state,
        nonces=DpopNonces(server_secret, clock=clock) if settings.dpop_require_nonce else None,
        clock=clock,
    )
    authorization_requests = AuthorizationRequests(
        clients=clients,
        request_objects=RequestObjects(urls.issuer, clock=clock),
        pushed=PushedRequests(state, settings.pushed_request_ttl),
    )
    lifecycle = build_token_lifecycle(
        settings=settings,
        engine=identity_engine,
        server_secret=server_secret,
        keys=keys,
        tokens=tokens,
        clients=clients,
        codes=codes,
        sessions=sessions,
        state=state,
        access_tokens=access_tokens,
        subjects=subjects,
        audit=audit_writer,
        metrics=metrics,
        clock=clock,
        backchannel_transport=backchannel_transport,
    )
    local_storage = (
        isinstance(state, MemoryStateStore)
        and identity_engine.dialect.name == "sqlite"
        and population.engine.dialect.name == "sqlite"
    )
    return IdentityServices(
        local_storage=local_storage,
        settings=settings,
        urls=urls,
        identity_engine=identity_engine,
        population=population,
        state=state,
        keys=keys,
        tokens=tokens,
        clients=clients,
        accounts=accounts,
        sessions=sessions,
        consents=consents,
        interactions=interactions,
        flow=flow,
        client_authenticator=ClientAuthenticator(
            clients,
            state,
            # RFC 7523 §3 and RFC 9126 §2: the issuer or the endpoint's own URL.
            audiences=(
                urls.token_endpoint,
                urls.introspection_endpoint,
                urls.revocation_endpoint,
                urls.pushed_authorization_request_endpoint,
                urls.issuer,
            ),
            issuer=urls.issuer,
            clock=clock,
        ),
        authorization_requests=authorization_requests,
        dpop=dpop,
        code_grant=lifecycle.code_grant,
        refresh_tokens=lifecycle.refresh_tokens,
        refresh_grant=lifecycle.refresh_grant,
        client_credentials_grant=lifecycle.client_credentials_grant,
        introspection=lifecycle.introspection,
        revocation=lifecycle.revocation,
        end_session=lifecycle.end_session,
        backchannel=lifecycle.backchannel,
        access_tokens=access_tokens,
        subjects=subjects,
        claims=ClaimsService(population),
        audit=audit,
        audit_writer=audit_writer,
        metrics=metrics,
        kyc=KycService(
            registry=population,
            accounts=accounts,
            keys=keys,
            audit=audit_writer,
            subject_ref=audit.subject_ref,
            issuer=urls.issuer,
            clock=clock,
        ),
        kyc_access=KycAccess(
            tokens=tokens,
            access_tokens=access_tokens,
            clients=clients,
            state=state,
            requests_per_second=settings.kyc_requests_per_second,
            daily_quota=settings.kyc_daily_quota,
            dpop=dpop,
            endpoint_url=urls.endpoint(KYC_VERIFY_PATH),
            clock=clock,
        ),
        account_page=AccountPageService(
            engine=identity_engine,
            accounts=accounts,
            registry=population,
            audit=audit,
            audit_writer=audit_writer,
            metrics=metrics,
            revocation=lifecycle.revocation,
            state=state,
            sessions=sessions,
            server_secret=server_secret,
            clock=clock,
        ),
        secure_cookies=urls.issuer.startswith("https://"),
        discovery_json=json.dumps(discovery_document(urls.issuer)).encode("utf-8"),
    )


def app_from_environment() -> FastAPI:
    """The factory ``natid serve`` hands to uvicorn (settings from ``NATID_*``).

    What exists once the app is built (modules, the ORM's and FastAPI's models, templates,
    the message tables: about 150,000 objects) lives as long as the process, so it is
    moved out of the garbage collector's reach (``gc.freeze``): otherwise every full
    collection walks all of it again, a pause of about 75 ms in the middle of some
    request."""
    app = create_app(IdentitySettings())
    gc.collect()
    gc.freeze()
    return app


def _wants_page(request: Request) -> bool:
    return request.url.path.startswith(_PAGE_PREFIXES)


async def dependency_unavailable(request: Request, error: Exception) -> Response:
    """503 with ``Retry-After``: an error page for a browser, an OAuth error otherwise."""
    logger.error("dependency unavailable on %s: %s", request.url.path, _one_line(error))
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _wants_page(request):
        return error_page(request, "unavailable", status_code=503, headers=headers)
    body = {
        "error": "temporarily_unavailable",
        "error_description": "a dependency of the service is unavailable; retry shortly",
    }
    return JSONResponse(body, status_code=503, headers={**NO_STORE, **headers})


async def _audit_unavailable(scope: Scope, error: AuditError) -> Response:
    request = Request(scope)
    if not request.url.path.startswith("/api/"):
        return await dependency_unavailable(request, error)
    logger.error("audit log unavailable on %s: %s", request.url.path, _one_line(error))
    return problem_response(
        503,
        "unavailable",
        "Service unavailable",
        "the answer could not be recorded; retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _add_error_handlers(app: FastAPI) -> None:
    unavailable = (
        StateStoreUnavailableError,
        OperationalError,
        KeyStoreError,
        IdentityDatabaseError,
        AuditError,
    )

    async def protocol_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, OAuthError)
        return oauth_error_response(error)

    async def invalid_parameters(request: Request, _error: Exception) -> Response:
        if _wants_page(request):
            return error_page(request, "wrong_step", status_code=400)
        return oauth_error_response(InvalidRequestError("malformed request parameters"))

    async def http_refusal(request: Request, error: Exception) -> Response:
        # Starlette's own refusals: routing (404, 405) keeps FastAPI's answer; a body its
        # form parser will not read (over 1,000 fields, multipart without a boundary) is a
        # 400 in this service's shapes.
        assert isinstance(error, StarletteHTTPException)
        if error.status_code != 400:
            return await http_exception_handler(request, error)
        if _wants_page(request):
            return error_page(request, "wrong_step", status_code=400)
        if request.url.path.startswith("/api/"):
            return problem_response(400, "malformed-request", "Bad request", str(error.detail))
        return oauth_error_response(InvalidRequestError(f"unreadable form: {error.detail}"))

    async def unexpected(request: Request, error: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path, exc_info=error)
        if _wants_page(request):
            return error_page(request, "internal", status_code=500)
        body = {"error": "server_error", "error_description": "unexpected error"}
        return JSONResponse(body, status_code=500, headers=NO_STORE)

    for error_type in unavailable:
        app.add_exception_handler(error_type, dependency_unavailable)
    app.add_exception_handler(OAuthError, protocol_error)
    app.add_exception_handler(RequestValidationError, invalid_parameters)
    app.add_exception_handler(StarletteHTTPException, http_refusal)
    app.add_exception_handler(Exception, unexpected)


def _one_line(error: Exception) -> str:
    text = str(error).strip()
    return f"{error.__class__.__name__}: {text.splitlines()[0] if text else ''}"
