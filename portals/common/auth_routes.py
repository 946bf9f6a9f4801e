"""``/auth/login``, ``/auth/callback``, ``/auth/logout``, ``/auth/backchannel-logout``: the
e-ID login and logout every portal shares.

Login parks a ``PendingLogin`` in the visitor's session (creating one if needed) and sends
the browser to the IdP. The callback takes that pending login back out (so a callback
URL works once), lets ``EidClient`` verify everything, and on success starts a *new*
session (a session token that existed before login never becomes a logged-in one). Any
failure gets a page saying what happened and how to try again; a session the visitor
already had stays as it was. Logout ends the session here, then continues at the IdP's
end-session endpoint when discovery advertises one (with ``id_token_hint`` and a
``state`` checked when the browser comes back to the "logged out" page). The IdP's
back-channel logout ends every session of the IdP session it names
(``backchannel_logout``), answering 200, or 400 ``invalid_request`` for a token it
refuses.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portals.common.backchannel_logout import LogoutReplayError
from portals.common.errors import (
    EidLoginError,
    InsufficientLevelError,
    IssuerMismatchError,
    ProviderRefusedError,
    ProviderUnavailableError,
)
from portals.common.identity import PendingLogin
from portals.common.levels import HIGHEST_LEVEL
from portals.common.logout_tokens import LogoutTokenError
from portals.common.web import (
    LOGGED_OUT_PATH,
    LOGOUT_STATE_KEY,
    Portal,
    PortalDep,
    Visitor,
    VisitorDep,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["e-ID login"])

MAX_PENDING_LOGINS = 5
LOGOUT_STATE_BYTES = 16
MAX_BACKCHANNEL_BODY_BYTES = 16_384
NO_STORE = {"Cache-Control": "no-store"}
RETRY_AFTER_SECONDS = 30
KNOWN_PROVIDER_ERRORS = frozenset(
    {
        "access_denied",
        "login_required",
        "interaction_required",
        "consent_required",
        "invalid_request",
        "invalid_scope",
        "unauthorized_client",
        "server_error",
        "temporarily_unavailable",
    }
)


def safe_next_path(candidate: str | None) -> str:
    """A path on this portal to return to; anything else (another origin, ``//host``,
    a backslash trick) becomes the home page, so login is never an open redirect."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return "/"
    if "\\" in candidate or any(ord(character) < 0x20 for character in candidate):
        return "/"
    return candidate


def login_url(level: int, next_path: str) -> str:
    return f"/auth/login?{urlencode({'level': level, 'next': next_path})}"


@router.get("/login", summary="Start logging in with the e-ID")
async def login(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    next: str = "/",
    level: int = 1,
) -> Response:
    next_path = safe_next_path(next)
    wanted = min(max(level, portal.spec.min_level), HIGHEST_LEVEL)
    if visitor.identity is not None and visitor.identity.level >= wanted:
        return RedirectResponse(next_path, status_code=303)
    try:
        url, pending = await portal.eid.start_login(
            level=wanted, next_path=next_path, locale=visitor.locale
        )
    except EidLoginError as error:
        return login_error_page(request, portal, visitor, error, wanted, next_path)
    session = visitor.session or await run_in_threadpool(portal.sessions.create)
    pending_logins = dict(session.data.get("pending_logins", {}))
    pending_logins[pending.state] = pending.to_dict()
    # Only the most recent few: a visitor opening many login tabs cannot grow the session.
    session.data["pending_logins"] = dict(list(pending_logins.items())[-MAX_PENDING_LOGINS:])
    await run_in_threadpool(portal.sessions.save, session)
    response = RedirectResponse(url, status_code=303)
    if visitor.session is None:
        portal.set_session_cookie(response, session)
    return response


@router.get("/callback", summary="The IdP's answer (redirect URI)")
async def callback(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    parameters = dict(request.query_params)
    pending = await run_in_threadpool(_take_pending, portal, visitor, parameters.get("state"))
    try:
        identity = await portal.eid.finish_login(pending, parameters)
    except EidLoginError as error:
        level = pending.level if pending else portal.spec.min_level
        next_path = pending.next_path if pending else "/"
        return login_error_page(request, portal, visitor, error, level, next_path)
    session = portal.sessions.create(
        {"identity": identity.to_dict(), "locale": visitor.locale},
        idp_session_id=identity.idp_session_id,
        subject=identity.subject,
    )
    if visitor.session is not None:
        portal.sessions.delete(visitor.session.token)
    logger.info("login at level %s for a pairwise subject of %s", identity.level, portal.spec.name)
    response = RedirectResponse(pending.next_path if pending else "/", status_code=303)
    portal.set_session_cookie(response, session)
    return response


@router.post("/logout", summary="Log out of this portal (and of the e-ID when possible)")
async def logout(
    portal: PortalDep, visitor: VisitorDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    session = portal.check_csrf(visitor, csrf_token)
    await run_in_threadpool(portal.sessions.delete, session.token)
    target = None
    if visitor.identity is not None:
        state = secrets.token_urlsafe(LOGOUT_STATE_BYTES)
        target = await portal.eid.logout_url(visitor.identity, visitor.locale, state)
    if target is None:
        response = RedirectResponse(LOGGED_OUT_PATH, status_code=303)
        portal.clear_session_cookie(response)
        return response
    # A fresh anonymous session remembers the state until the IdP sends the browser back
    # to the "logged out" page, which checks it (``Portal.logout_notice``).
    returning = await run_in_threadpool(portal.sessions.create, {LOGOUT_STATE_KEY: state})
    response = RedirectResponse(target, status_code=303)
    portal.set_session_cookie(response, returning)
    return response


@router.post(
    "/backchannel-logout",
    summary="The IdP ends this portal's sessions (OIDC Back-Channel Logout 1.0)",
    responses={400: {"description": "invalid_request"}, 503: {"description": "no JWKS"}},
)
async def backchannel_logout(request: Request, portal: PortalDep) -> Response:
    """Form-encoded ``logout_token`` from the IdP, server to server: no cookie, no CSRF
    token; the signed token is the authentication. 200 once its sessions are ended."""
    logout_token = await _logout_token_of(request)
    if logout_token is None:
        return _backchannel_refusal("send one logout_token, form-encoded")
    try:
        logout = await portal.eid.verify_logout_token(logout_token)
        ended = await run_in_threadpool(portal.backchannel.end_sessions, logout)
    except (LogoutTokenError, LogoutReplayError) as error:
        logger.warning("back-channel logout refused at %s: %s", portal.spec.name, error)
        return _backchannel_refusal(str(error))
    except (ProviderUnavailableError, IssuerMismatchError) as error:
        # The token cannot be checked now; the IdP may retry (§2.8 leaves retries to it).
        logger.warning("back-channel logout at %s: %s", portal.spec.name, error.detail)
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": "cannot verify now"},
            status_code=503,
            headers={**NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.info("back-channel logout ended %d session(s) at %s", ended, portal.spec.name)
    return Response(status_code=200, headers=NO_STORE)


async def _logout_token_of(request: Request) -> str | None:
    """The one ``logout_token`` of a small form-encoded body, else None."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BACKCHANNEL_BODY_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=False)
    except UnicodeDecodeError:
        return None
    tokens = fields.get("logout_token", [])
    return tokens[0] if len(tokens) == 1 and tokens[0] else None


def _backchannel_refusal(description: str) -> Response:
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=400,
        headers=NO_STORE,
    )


def _take_pending(portal: Portal, visitor: Visitor, state: str | None) -> PendingLogin | None:
    if visitor.session is None or not state:
        return None
    pending_logins = dict(visitor.session.data.get("pending_logins", {}))
    data = pending_logins.pop(state, None)
    visitor.session.data["pending_logins"] = pending_logins
    portal.sessions.save(visitor.session)
    return PendingLogin.from_dict(data) if data else None


def login_error_page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    error: EidLoginError,
    level: int,
    next_path: str,
) -> Response:
    """A page saying why the login failed, with a way to try again."""
    t = portal.messages.translator(visitor.locale)
    if isinstance(error, ProviderRefusedError):
        key = f"error.oauth.{error.error}"
        message = (
            t(key)
            if error.error in KNOWN_PROVIDER_ERRORS
            else t("error.oauth.other", error=error.error)
        )
        code = error.error
    elif isinstance(error, InsufficientLevelError):
        message = t(
            "error.insufficient_level", required=error.required, achieved=error.achieved or "?"
        )
        code = error.code
    else:
        message = t(f"error.{error.code}")
        code = error.code
    # A service for level 2 refused at the IdP: often an account without a second factor.
    level2_refused = level >= HIGHEST_LEVEL and code == "access_denied"
    level_hint = t("error.level2_hint") if level2_refused else ""
    logger.warning("e-ID login failed at %s: %s (%s)", portal.spec.name, code, error.detail)
    response = portal.render(
        request,
        visitor,
        "error.html",
        {
            "message": message,
            "error_code": code,
            "error_detail": error.detail,
            "retry_url": login_url(level, next_path),
            "level_hint": level_hint,
        },
        status_code=error.status_code,
        page_path="/",
    )
    if isinstance(error, ProviderUnavailableError):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
