"""Assemble a portal's FastAPI app from its ``PortalSpec``, settings and page routes.

Everything is built when the factory runs, never at import: the portal's database engine
and session table, the e-ID client, static files, security headers, the shared login
routes and error pages. ``transport`` and ``clock`` are for tests (an in-process IdP
and a clock they move by hand).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from portals.common import auth_routes
from portals.common.access_log import AccessLogMiddleware
from portals.common.backchannel_logout import BackchannelLogout
from portals.common.db import create_portal_engine
from portals.common.oidc_client import EidClient
from portals.common.security import SecurityHeadersMiddleware
from portals.common.sessions import SessionStore
from portals.common.settings import PortalSettings
from portals.common.web import COMMON_STATIC, LoginRequiredError, Portal, PortalSpec

_STATUS_MESSAGES = {404: "error.not_found", 403: "error.forbidden"}


def build_portal_app(
    spec: PortalSpec,
    settings: PortalSettings,
    routers: Iterable[APIRouter],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    private_jwk: dict[str, Any] | None = None,
) -> tuple[FastAPI, Portal]:
    """The app and its ``Portal``; the caller creates its own tables on ``portal.engine``.

    ``private_jwk`` is the portal's signing key, for ``private_key_jwt``."""
    engine = create_portal_engine(settings.database_url_for(spec.name))
    sessions = SessionStore(
        engine, settings.session_key_for(spec.name), settings.session_ttl_seconds, clock=clock
    )
    sessions.create_schema()
    eid = EidClient(settings, transport=transport, clock=clock, private_jwk=private_jwk)
    backchannel = BackchannelLogout(
        engine,
        sessions,
        issuer=eid.issuer,
        clock_skew_seconds=settings.clock_skew_seconds,
        clock=clock,
    )
    backchannel.create_schema()
    portal = Portal(
        spec, settings, engine=engine, sessions=sessions, eid=eid, backchannel=backchannel
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title=spec.name, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.portal = portal
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware,
        issuer_origin=settings.issuer_origin,
        https=settings.secure_cookies,
    )
    app.mount("/static/common", StaticFiles(directory=COMMON_STATIC), name="common-static")
    app.mount("/static/portal", StaticFiles(directory=spec.static_dir), name="portal-static")
    app.include_router(auth_routes.router)
    for router in routers:
        app.include_router(router)
    _add_error_pages(app, portal)
    return app, portal


def _add_error_pages(app: FastAPI, portal: Portal) -> None:
    @app.exception_handler(LoginRequiredError)
    async def _login_required(_request: Request, error: LoginRequiredError) -> Response:
        return RedirectResponse(
            auth_routes.login_url(error.level, error.next_path), status_code=303
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        return await run_in_threadpool(_error_page, request, portal, error.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _error: RequestValidationError) -> Response:
        return await run_in_threadpool(_error_page, request, portal, 400)


def _error_page(request: Request, portal: Portal, status_code: int) -> Response:
    visitor = portal.visitor(request)
    t = portal.messages.translator(visitor.locale)
    return portal.render(
        request,
        visitor,
        "error.html",
        {
            "message": t(_STATUS_MESSAGES.get(status_code, "error.title")),
            "error_code": str(status_code),
            "error_detail": "",
            "retry_url": "",
            "level_hint": "",
        },
        status_code=status_code,
    )
