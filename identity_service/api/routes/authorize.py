"""``GET|POST /authorize``: the authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2).

Validates the request — sent as parameters, as a signed request object (``request``, RFC
9101) or pushed beforehand (``request_uri`` from ``/par``, RFC 9126) — then either
redirects straight back to the client (a code, or an error with ``state`` and ``iss``), or
parks it as an interaction and sends the browser to the login, second-factor or consent
page (``interaction.py``). An unknown client or a redirect URI that is not exactly
registered gets an error page and no redirect.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from identity_service.api.deps import IdentityServices
from identity_service.api.direct_routes import direct
from identity_service.api.pages import error_page, set_cookie
from identity_service.api.steps import on_loop_when_local
from identity_service.i18n import choose_locale
from identity_service.oidc.authorization import FlowResult
from identity_service.oidc.errors import AuthorizationRedirectError, UnsafeAuthorizationRequestError
from identity_service.oidc.interactions import BROWSER_COOKIE, new_browser_cookie
from identity_service.oidc.metadata import AUTHORIZATION_PATH
from identity_service.oidc.requests import preferred_locale
from identity_service.oidc.responses import error_redirect
from identity_service.oidc.sessions import SESSION_COOKIE

router = APIRouter(tags=["authorization"])

Parameters = dict[str, list[str]]
MAX_BROWSER_COOKIE_LENGTH = 64

_DOCUMENTED_PARAMETERS = [
    ("response_type", True, "Must be `code`."),
    ("client_id", True, "The registered client id."),
    ("redirect_uri", True, "Exactly one of the client's registered redirect URIs."),
    ("scope", True, "Space-separated; must include `openid`."),
    ("code_challenge", True, "PKCE: base64url(SHA-256(code_verifier))."),
    ("code_challenge_method", True, "Must be `S256`."),
    ("state", False, "Opaque value returned unchanged."),
    ("nonce", False, "Copied into the ID token."),
    ("prompt", False, "`none`, `login` or `consent`."),
    ("max_age", False, "Maximum seconds since the last authentication."),
    ("login_hint", False, "A personal ID number to pre-fill."),
    ("ui_locales", False, "`vi` (default) or `en`."),
    ("acr_values", False, "`urn:natid:acr:level1` or `urn:natid:acr:level2`."),
    ("dpop_jkt", False, "Bind the code to this DPoP key (RFC 9449 §10)."),
    ("request", False, "A signed request object (RFC 9101) holding the parameters."),
    ("request_uri", False, "The `request_uri` the PAR endpoint returned (RFC 9126)."),
]
_OPENAPI_QUERY = {
    "parameters": [
        {
            "name": name,
            "in": "query",
            "required": required,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, required, description in _DOCUMENTED_PARAMETERS
    ]
}
_OPENAPI_FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string", "description": description}
                        for name, _required, description in _DOCUMENTED_PARAMETERS
                    },
                }
            }
        }
    }
}


async def query_parameters(request: Request) -> Parameters:
    return _grouped(request.query_params.multi_items())


async def form_parameters(request: Request) -> Parameters:
    form = await request.form()
    return _grouped((name, value) for name, value in form.multi_items() if isinstance(value, str))


def _grouped(items: Any) -> Parameters:
    grouped: Parameters = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value)
    return grouped


@router.get(
    AUTHORIZATION_PATH,
    summary="Authorization endpoint (code flow with PKCE)",
    openapi_extra=_OPENAPI_QUERY,
    response_class=RedirectResponse,
    status_code=303,
)
@direct  # the first step of every login: a plain Starlette route, no dependency injection
async def authorize_get(request: Request) -> Response:
    services: IdentityServices = request.app.state.services
    parameters = await query_parameters(request)
    return await on_loop_when_local(services, _authorize, request, services, parameters)


@router.post(
    AUTHORIZATION_PATH,
    summary="Authorization endpoint, form-encoded (OIDC Core §3.1.2.1)",
    openapi_extra=_OPENAPI_FORM,
    response_class=RedirectResponse,
    status_code=303,
)
@direct
async def authorize_post(request: Request) -> Response:
    services: IdentityServices = request.app.state.services
    parameters = await form_parameters(request)
    return await on_loop_when_local(services, _authorize, request, services, parameters)


def _authorize(request: Request, services: IdentityServices, parameters: Parameters) -> Response:
    locale = choose_locale(preferred_locale(" ".join(parameters.get("ui_locales", []))))
    try:
        authorization = services.authorization_requests.at_authorization_endpoint(parameters)
    except UnsafeAuthorizationRequestError as error:
        return error_page(request, error.reason, locale=locale, detail=error.description)
    except AuthorizationRedirectError as error:
        url = error_redirect(
            error.redirect_uri, error.error, state=error.state, issuer=services.urls.issuer
        )
        return RedirectResponse(url, status_code=303)
    browser_cookie = request.cookies.get(BROWSER_COOKIE) or ""
    new_browser = not browser_cookie or len(browser_cookie) > MAX_BROWSER_COOKIE_LENGTH
    if new_browser:
        browser_cookie = new_browser_cookie()
    session = services.sessions.load(request.cookies.get(SESSION_COOKIE))
    try:
        result = services.flow.start(authorization, session, browser_cookie)
    except AuthorizationRedirectError as error:
        url = error_redirect(
            error.redirect_uri, error.error, state=error.state, issuer=services.urls.issuer
        )
        return RedirectResponse(url, status_code=303)
    response = flow_response(result, services)
    if new_browser:
        set_cookie(response, BROWSER_COOKIE, browser_cookie, secure=services.secure_cookies)
    return response


def interaction_path(interaction_id: str) -> str:
    # Path-absolute: the issuer is served at the root of its origin.
    return f"/interaction/{interaction_id}"


def flow_response(result: FlowResult, services: IdentityServices) -> Response:
    """A redirect to the client or to the next interaction page, with any new session."""
    if result.interaction is not None:
        target = interaction_path(result.interaction.id)
    else:
        target = result.redirect_url or ""
    response = RedirectResponse(target, status_code=303)
    if result.session_cookie is not None:
        set_cookie(response, SESSION_COOKIE, result.session_cookie, secure=services.secure_cookies)
    return response
