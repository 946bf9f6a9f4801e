"""``GET|POST /logout``: the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0).

A portal sends the citizen's browser here to log out of the e-ID. With a valid
``id_token_hint`` for the browser's session the session ends at once; otherwise the
citizen confirms on a page (``POST /logout/confirm``). Ending the session deletes it,
clears the cookie, and notifies every portal that shared it over the back channel —
after the response is sent, so a slow portal never delays the browser. The browser then
goes to the registered ``post_logout_redirect_uri`` with ``state``, or sees a page saying
it is logged out (``oidc.logout`` has the rules).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from identity_service.api.deps import IdentityServices, ServicesDep
from identity_service.api.pages import error_page, render
from identity_service.api.routes.authorize import Parameters, form_parameters, query_parameters
from identity_service.i18n import choose_locale
from identity_service.oidc.backchannel import LogoutNotice
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.logout import end_session_parameters, post_logout_redirect
from identity_service.oidc.metadata import END_SESSION_PATH
from identity_service.oidc.requests import preferred_locale
from identity_service.oidc.sessions import SESSION_COOKIE

router = APIRouter(tags=["logout"])

FormText = Annotated[str, Form()]
CONFIRM_PATH = f"{END_SESSION_PATH}/confirm"
_DOCUMENTED_PARAMETERS = [
    ("id_token_hint", "An ID token the IdP issued to the portal (may be expired)."),
    ("client_id", "The portal's client id (needed without id_token_hint)."),
    ("post_logout_redirect_uri", "Exactly one of the portal's registered URIs."),
    ("state", "Opaque value returned on the redirect."),
    ("ui_locales", "`vi` (default) or `en`."),
]
_OPENAPI_QUERY = {
    "parameters": [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in _DOCUMENTED_PARAMETERS
    ]
}


@router.get(
    END_SESSION_PATH,
    summary="End the e-ID session (RP-initiated logout)",
    openapi_extra=_OPENAPI_QUERY,
)
def end_session_get(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    parameters: Annotated[Parameters, Depends(query_parameters)],
) -> Response:
    return _end_session(request, services, background, parameters)


@router.post(END_SESSION_PATH, summary="End the e-ID session, form-encoded")
def end_session_post(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    parameters: Annotated[Parameters, Depends(form_parameters)],
) -> Response:
    return _end_session(request, services, background, parameters)


@router.post(CONFIRM_PATH, summary="The citizen confirms (or declines) logging out")
def confirm(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    pending_id: FormText = "",
    csrf_token: FormText = "",
    decision: FormText = "",
    locale: FormText = "",
) -> Response:
    language = choose_locale(locale)
    pending = services.end_session.take_pending(pending_id)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = services.sessions.load(cookie)
    if (
        pending is None
        or not pending.csrf_matches(csrf_token)
        or (session is not None and session.sid != pending.sid)
    ):
        return error_page(request, "logout_expired", locale=language, status_code=400)
    client = services.end_session.client(pending.client_id)
    if decision != "logout":
        return _page(request, "kept", language, client)
    notices = services.end_session.end(cookie, session)
    return _finished(
        request,
        services,
        background,
        notices,
        pending.redirect_uri,
        pending.state,
        language,
        client,
    )


def _end_session(
    request: Request, services: IdentityServices, background: BackgroundTasks, raw: Parameters
) -> Response:
    parameters = end_session_parameters(raw)
    locale = choose_locale(preferred_locale(parameters.get("ui_locales", "")))
    cookie = request.cookies.get(SESSION_COOKIE)
    session = services.sessions.load(cookie)
    plan = services.end_session.plan(parameters, session)
    if plan.confirm:
        return _page(
            request,
            "confirm",
            locale,
            plan.client,
            pending_id=plan.pending_id,
            csrf_token=plan.csrf_token,
        )
    notices = services.end_session.end(cookie, session)
    return _finished(
        request, services, background, notices, plan.redirect_uri, plan.state, locale, plan.client
    )


def _finished(
    request: Request,
    services: IdentityServices,
    background: BackgroundTasks,
    notices: list[LogoutNotice],
    redirect_uri: str | None,
    state: str | None,
    locale: str,
    client: RegisteredClient | None,
) -> Response:
    if redirect_uri is not None:
        response: Response = RedirectResponse(
            post_logout_redirect(redirect_uri, state), status_code=303
        )
    else:
        response = _page(request, "done", locale, client)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=services.secure_cookies, httponly=True, samesite="lax"
    )
    if notices:
        background.add_task(services.backchannel.deliver, notices)
    return response


def _page(
    request: Request,
    mode: str,
    locale: str,
    client: RegisteredClient | None,
    *,
    pending_id: str | None = None,
    csrf_token: str | None = None,
) -> Response:
    return render(
        request,
        "logout.html",
        locale=locale,
        context={
            "mode": mode,
            "client_name": None if client is None else client.name,
            "pending_id": pending_id,
            "csrf_token": csrf_token,
            "confirm_path": CONFIRM_PATH,
        },
    )
