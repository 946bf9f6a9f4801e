"""``/account``: the citizen's own account page at the IdP (server-rendered, no JavaScript).

Logging in reuses the provider's login machinery: without an SSO session, ``/account``
starts an authorization flow for the internal ``natid-account`` pseudo-client (no scopes,
so no consent page) and the citizen goes through the same login and second-factor pages
as for any portal; the flow ends at ``/account/callback`` with the SSO cookie set.
Re-binding the second factor asks for a fresh step-up the same way (level 2, at most
``FRESH_STEP_UP_SECONDS`` old). The pseudo-client is never registered, so its codes are
worthless at the token endpoint.

Every form posts a CSRF token derived from the session cookie; a post without the
session goes back to the login. ``?lang=en`` or ``?lang=vi`` picks the language (kept in a
cookie). The handlers are plain functions, run in FastAPI's thread pool (argon2 for the
password change never blocks the event loop).
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from identity_service.account_page import (
    ACCOUNT_CLIENT_ID,
    FRESH_STEP_UP_SECONDS,
    AccountPageError,
)
from identity_service.accounts.errors import AuthenticationError, PasswordPolicyError
from identity_service.api.account_views import (
    overview_page,
    second_factor_page,
    signed_out_page,
)
from identity_service.api.deps import IdentityServices, ServicesDep, client_ip
from identity_service.api.pages import error_page, set_cookie
from identity_service.api.routes.authorize import flow_response
from identity_service.i18n import SUPPORTED_LOCALES, choose_locale
from identity_service.oidc import pkce
from identity_service.oidc.interactions import BROWSER_COOKIE, new_browser_cookie
from identity_service.oidc.levels import HIGHEST_LEVEL, LOWEST_LEVEL
from identity_service.oidc.requests import AuthorizationRequest
from identity_service.oidc.sessions import SESSION_COOKIE, SsoSession

router = APIRouter(prefix="/account", tags=["account page"])

FormText = Annotated[str, Form()]
LOCALE_COOKIE = "natid_locale"
CALLBACK_PATH = "/account/callback"
MAX_PASSWORD_LENGTH = 1024
MAX_BROWSER_COOKIE_LENGTH = 64
# Where a finished login returns to (the state names one; nothing else is accepted).
_TARGETS = {"overview": "/account", "second_factor": "/account/second-factor"}
_DONE = frozenset({"consent_withdrawn", "password_changed", "second_factor_rebound"})


@router.get("", summary="The citizen's account: level, consents, history")
def overview(
    request: Request, services: ServicesDep, lang: str | None = None, done: str | None = None
) -> Response:
    locale = _locale(request, lang)
    session, cookie = _session(request, services)
    if session is None or cookie is None:
        return _with_locale(_log_in(request, services, locale, "overview"), lang, services)
    page = overview_page(
        request, services, session, cookie, locale, done=done if done in _DONE else None
    )
    return _with_locale(page, lang, services)


@router.get("/callback", summary="Where the account page's login ends", include_in_schema=False)
def callback(
    request: Request, services: ServicesDep, state: str = "", error: str | None = None
) -> Response:
    locale = _locale(request, None)
    if error is not None:
        return signed_out_page(request, locale, reason="cancelled")
    target = _TARGETS.get(state.split(".", 1)[0], _TARGETS["overview"])
    return RedirectResponse(target, status_code=303)


@router.post("/consents/withdraw", summary="Withdraw consent from a portal")
def withdraw_consent(
    request: Request, services: ServicesDep, csrf_token: FormText = "", client_id: FormText = ""
) -> Response:
    checked = _checked(request, services, csrf_token)
    if isinstance(checked, Response):
        return checked
    session, cookie = checked
    try:
        services.account_page.withdraw_consent(session, client_id[:128])
    except AccountPageError as error:
        return overview_page(
            request, services, session, cookie, _locale(request, None), problem=error.reason
        )
    return RedirectResponse("/account?done=consent_withdrawn", status_code=303)


@router.post("/password", summary="Change the password")
def change_password(
    request: Request,
    services: ServicesDep,
    csrf_token: FormText = "",
    current_password: FormText = "",
    new_password: FormText = "",
    new_password_confirm: FormText = "",
) -> Response:
    checked = _checked(request, services, csrf_token)
    if isinstance(checked, Response):
        return checked
    session, cookie = checked
    locale = _locale(request, None)
    if max(len(current_password), len(new_password)) > MAX_PASSWORD_LENGTH:
        return overview_page(request, services, session, cookie, locale, problem="password_long")
    try:
        services.account_page.change_password(
            session,
            current_password=current_password,
            new_password=new_password,
            confirmation=new_password_confirm,
            client_ip=client_ip(request),
        )
    except AuthenticationError as error:
        throttled = error.retry_after is not None
        return overview_page(
            request,
            services,
            session,
            cookie,
            locale,
            message=error.message(locale),
            status_code=429 if throttled else 400,
            headers={"Retry-After": str(error.retry_after)} if throttled else None,
        )
    except PasswordPolicyError as error:
        return overview_page(
            request, services, session, cookie, locale, message=error.message(locale)
        )
    except AccountPageError as error:
        return overview_page(request, services, session, cookie, locale, problem=error.reason)
    return RedirectResponse("/account?done=password_changed", status_code=303)


@router.get("/second-factor", summary="Re-bind the authenticator (after a step-up)")
def second_factor(request: Request, services: ServicesDep, lang: str | None = None) -> Response:
    locale = _locale(request, lang)
    session, cookie = _session(request, services)
    if session is None or cookie is None:
        page = _log_in(request, services, locale, "second_factor", level=HIGHEST_LEVEL)
        return _with_locale(page, lang, services)
    account = services.accounts.summary(session.personal_id_number)
    if account is None or account.level < HIGHEST_LEVEL:
        return overview_page(request, services, session, cookie, locale, problem="rebind_level1")
    if not services.account_page.is_freshly_stepped_up(session):
        page = _log_in(request, services, locale, "second_factor", level=HIGHEST_LEVEL)
        return _with_locale(page, lang, services)
    pending = services.account_page.pending_rebinding(session)
    return _with_locale(
        second_factor_page(request, services, session, cookie, locale, pending), lang, services
    )


@router.post("/second-factor/new", summary="Make a new authenticator secret")
def new_second_factor(
    request: Request, services: ServicesDep, csrf_token: FormText = ""
) -> Response:
    checked = _checked(request, services, csrf_token)
    if isinstance(checked, Response):
        return checked
    session, _cookie = checked
    # Not (or no longer) freshly stepped up: the GET that follows asks for a code again.
    with contextlib.suppress(AccountPageError):
        services.account_page.start_rebinding(session)
    return RedirectResponse("/account/second-factor", status_code=303)


@router.post("/second-factor/confirm", summary="Bind the new authenticator with one of its codes")
def confirm_second_factor(
    request: Request, services: ServicesDep, csrf_token: FormText = "", code: FormText = ""
) -> Response:
    checked = _checked(request, services, csrf_token)
    if isinstance(checked, Response):
        return checked
    session, cookie = checked
    try:
        services.account_page.confirm_rebinding(session, code)
    except AccountPageError as error:
        if error.reason == "rebind_step_up":
            return RedirectResponse("/account/second-factor", status_code=303)
        pending = services.account_page.pending_rebinding(session)
        return second_factor_page(
            request,
            services,
            session,
            cookie,
            _locale(request, None),
            pending,
            problem=error.reason,
            status_code=400,
        )
    return RedirectResponse("/account?done=second_factor_rebound", status_code=303)


# -- helpers ----------------------------------------------------------------------------------


def _session(request: Request, services: IdentityServices) -> tuple[SsoSession | None, str | None]:
    cookie = request.cookies.get(SESSION_COOKIE)
    return services.sessions.load(cookie), cookie


def _checked(
    request: Request, services: IdentityServices, csrf_token: str
) -> tuple[SsoSession, str] | Response:
    """The session behind a form post whose CSRF token matches, or the answer to give."""
    session, cookie = _session(request, services)
    if session is None or cookie is None:
        return RedirectResponse("/account", status_code=303)
    if not services.account_page.csrf_matches(cookie, csrf_token):
        return error_page(request, "csrf", locale=_locale(request, None), status_code=403)
    return session, cookie


def _log_in(
    request: Request,
    services: IdentityServices,
    locale: str,
    target: str,
    *,
    level: int = LOWEST_LEVEL,
) -> Response:
    """Start the provider's own login (or step-up) for the account pseudo-client."""
    authorization = AuthorizationRequest(
        client_id=ACCOUNT_CLIENT_ID,
        redirect_uri=services.urls.endpoint(CALLBACK_PATH),
        scopes=(),  # releases nothing, so the flow never asks for consent
        state=f"{target}.{secrets.token_urlsafe(16)}",
        nonce=None,
        # Required by the flow; the code is never redeemed (the client is not registered).
        code_challenge=pkce.s256_challenge(secrets.token_urlsafe(48)),
        prompt=(),
        max_age=FRESH_STEP_UP_SECONDS if level >= HIGHEST_LEVEL else None,
        login_hint=None,
        ui_locale=locale,
        required_level=level,
    )
    browser_cookie = request.cookies.get(BROWSER_COOKIE) or ""
    new_browser = not browser_cookie or len(browser_cookie) > MAX_BROWSER_COOKIE_LENGTH
    if new_browser:
        browser_cookie = new_browser_cookie()
    session, _cookie = _session(request, services)
    response = flow_response(services.flow.start(authorization, session, browser_cookie), services)
    if new_browser:
        set_cookie(response, BROWSER_COOKIE, browser_cookie, secure=services.secure_cookies)
    return response


def _locale(request: Request, lang: str | None) -> str:
    return choose_locale(lang, request.cookies.get(LOCALE_COOKIE))


def _with_locale(response: Response, lang: str | None, services: IdentityServices) -> Response:
    if lang in SUPPORTED_LOCALES:
        set_cookie(response, LOCALE_COOKIE, lang, secure=services.secure_cookies)
    return response
