"""The login, second-factor and consent pages of an interaction (server-rendered, no JS).

``GET /interaction/{id}`` shows the page for the interaction's current step (``?lang=en``
or ``?lang=vi`` switches language); each form posts back with the interaction's CSRF
token, and only from the browser the interaction was started in. Every route is direct
(``api.direct_routes``: a plain Starlette route, its form read by ``form_fields``). With
local storage a page is rendered, and the password checked, on the event loop (argon2id
in its own threads); the other form handlers, and every handler when storage is on the
network, run in the thread pool, so database writes never block the loop (``api.steps``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from identity_service import activity
from identity_service.account_page import ACCOUNT_CLIENT_ID
from identity_service.accounts.errors import AuthenticationError, LoginFailedError
from identity_service.accounts.models import AuthenticatedAccount
from identity_service.api.deps import IdentityServices, client_ip
from identity_service.api.direct_routes import (
    direct,
    form_fields,
    openapi_form,
    openapi_path_parameters,
)
from identity_service.api.pages import error_page, render
from identity_service.api.routes.authorize import flow_response, interaction_path
from identity_service.api.steps import in_thread, on_loop_when_local
from identity_service.i18n import SUPPORTED_LOCALES, choose_locale, translator
from identity_service.oidc.claims import SCOPE_CLAIMS
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.interactions import (
    BROWSER_COOKIE,
    Interaction,
    InteractionError,
    Step,
)
from identity_service.oidc.levels import HIGHEST_LEVEL, LOWEST_LEVEL
from identity_service.oidc.sessions import SESSION_COOKIE

router = APIRouter(prefix="/interaction", tags=["login pages"])

_PATH = openapi_path_parameters(interaction_id="The interaction the authorization endpoint began.")
_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "`vi` or `en`: show the page in that language from now on.",
}
_CSRF = "The CSRF token of the page's form."


def _step_form(**fields: str) -> dict[str, object]:
    """OpenAPI for a step's form: the interaction in the path, the CSRF token and
    ``fields``."""
    return {"parameters": _PATH, **openapi_form(csrf_token=_CSRF, **fields)}


MAX_PASSWORD_LENGTH = 1024
_TEMPLATES = {
    Step.LOGIN: "login.html",
    Step.SECOND_FACTOR: "second_factor.html",
    Step.CONSENT: "consent.html",
}
_STATUS_BY_REASON = {"expired": 400, "wrong_step": 400, "wrong_browser": 403, "csrf": 403}


@router.get(
    "/{interaction_id}",
    summary="The page of the interaction's current step",
    openapi_extra={"parameters": [*_PATH, _LANG]},
)
@direct  # a step of every login: a plain Starlette route, no dependency injection
async def interaction_page(request: Request) -> Response:
    services: IdentityServices = request.app.state.services
    return await on_loop_when_local(
        services,
        _interaction_page,
        interaction_id=request.path_params["interaction_id"],
        request=request,
        services=services,
        lang=request.query_params.get("lang"),
    )


def _interaction_page(
    interaction_id: str, request: Request, services: IdentityServices, lang: str | None = None
) -> Response:
    interaction = services.interactions.load(interaction_id)
    if interaction is None or not interaction.belongs_to(request.cookies.get(BROWSER_COOKIE)):
        reason = "expired" if interaction is None else "wrong_browser"
        return _refusal(request, InteractionError(reason), choose_locale(lang))
    if lang in SUPPORTED_LOCALES and lang != interaction.locale:
        interaction = services.interactions.update(interaction, locale=lang)
    return _page(request, services, interaction)


@router.post(
    "/{interaction_id}/login",
    summary="Submit the ID number and password",
    openapi_extra=_step_form(
        personal_id_number="The citizen's 12-digit personal ID number.",
        password="The e-ID password.",
    ),
)
@direct
async def submit_login(request: Request) -> Response:
    services: IdentityServices = request.app.state.services
    if not services.local_storage:
        return await _form_step_in_thread(
            request, _submit_login, "csrf_token", "personal_id_number", "password"
        )
    # The step's reads are local files and memory, and argon2id has threads of its own:
    # on the loop, the login waits for argon2id without holding a pool thread (two
    # thread hand-offs fewer, about 1 ms of CPU per login on one core).
    form = await form_fields(request)
    async with services.audit_writer.deferring():
        return await _submit_login_on_loop(
            request.path_params["interaction_id"],
            request,
            services,
            form.get("csrf_token", ""),
            form.get("personal_id_number", ""),
            form.get("password", ""),
        )


def _submit_login(
    interaction_id: str,
    request: Request,
    services: IdentityServices,
    csrf_token: str = "",
    personal_id_number: str = "",
    password: str = "",
) -> Response:
    interaction = _login_interaction(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    try:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise LoginFailedError()
        account = services.accounts.authenticate(personal_id_number, password, client_ip(request))
    except AuthenticationError as error:
        return _login_failed(request, services, interaction, personal_id_number, error)
    return _password_verified(request, services, interaction, account)


async def _submit_login_on_loop(
    interaction_id: str,
    request: Request,
    services: IdentityServices,
    csrf_token: str,
    personal_id_number: str,
    password: str,
) -> Response:
    interaction = _login_interaction(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    try:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise LoginFailedError()
        account = await services.accounts.authenticate_async(
            personal_id_number, password, client_ip(request)
        )
    except AuthenticationError as error:
        return _login_failed(request, services, interaction, personal_id_number, error)
    return _password_verified(request, services, interaction, account)


def _login_interaction(
    request: Request, services: IdentityServices, interaction_id: str, csrf_token: str
) -> Interaction | Response:
    """The interaction a password may be submitted to, or the answer when there is none."""
    interaction = _checked(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    if interaction.step is not Step.LOGIN:
        return RedirectResponse(interaction_path(interaction.id), status_code=303)
    return interaction


def _login_failed(
    request: Request,
    services: IdentityServices,
    interaction: Interaction,
    personal_id_number: str,
    error: AuthenticationError,
) -> Response:
    activity.login_failed(
        services.audit_writer,
        services.metrics,
        error,
        typed_id_number=personal_id_number,
        client_id=interaction.request.client_id,
        factor=activity.PASSWORD,
        client_ip=client_ip(request),
    )
    return _failed(request, services, interaction, error)


def _password_verified(
    request: Request,
    services: IdentityServices,
    interaction: Interaction,
    account: AuthenticatedAccount,
) -> Response:
    has_second_factor = account.second_factor_required and account.second_factor_available
    try:
        result = services.flow.password_verified(
            interaction,
            personal_id_number=account.personal_id_number,
            account_level=HIGHEST_LEVEL if has_second_factor else LOWEST_LEVEL,
            current_cookie=request.cookies.get(SESSION_COOKIE),
        )
    except InteractionError as error:
        return _refusal(request, error, interaction.locale)
    if result.session_cookie is not None:  # else the second factor comes next
        activity.login_succeeded(
            services.audit_writer,
            services.metrics,
            personal_id_number=account.personal_id_number,
            client_id=interaction.request.client_id,
            level=LOWEST_LEVEL,
            client_ip=client_ip(request),
        )
    return flow_response(result, services)


@router.post(
    "/{interaction_id}/second-factor",
    summary="Submit the TOTP code",
    openapi_extra=_step_form(code="The 6-digit code of the authenticator app."),
)
@direct
async def submit_second_factor(request: Request) -> Response:
    return await _form_step_in_thread(request, _submit_second_factor, "csrf_token", "code")


def _submit_second_factor(
    interaction_id: str,
    request: Request,
    services: IdentityServices,
    csrf_token: str = "",
    code: str = "",
) -> Response:
    interaction = _checked(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    if interaction.step is not Step.SECOND_FACTOR or interaction.subject is None:
        return RedirectResponse(interaction_path(interaction.id), status_code=303)
    ip = client_ip(request)
    step_up = not interaction.password_verified
    try:
        services.accounts.verify_totp(interaction.subject, "".join(code.split())[:16], ip)
    except AuthenticationError as error:
        activity.login_failed(
            services.audit_writer,
            services.metrics,
            error,
            typed_id_number=interaction.subject,
            client_id=interaction.request.client_id,
            factor=activity.TOTP,
            client_ip=ip,
            step_up=step_up,
        )
        return _failed(request, services, interaction, error)
    current_cookie = request.cookies.get(SESSION_COOKIE)
    try:
        result = services.flow.second_factor_verified(
            interaction,
            current_cookie=current_cookie,
            current_session=services.sessions.load(current_cookie),
        )
    except InteractionError as error:
        return _refusal(request, error, interaction.locale)
    if result.session_cookie is not None:  # else the session ended: a full login follows
        record = activity.stepped_up if step_up else activity.login_succeeded
        record(
            services.audit_writer,
            services.metrics,
            personal_id_number=interaction.subject,
            client_id=interaction.request.client_id,
            level=HIGHEST_LEVEL,
            client_ip=ip,
        )
    return flow_response(result, services)


@router.post(
    "/{interaction_id}/consent",
    summary="Allow or deny sharing the listed data",
    openapi_extra=_step_form(decision="`approve` or `deny`."),
)
@direct
async def submit_consent(request: Request) -> Response:
    return await _form_step_in_thread(request, _submit_consent, "csrf_token", "decision")


def _submit_consent(
    interaction_id: str,
    request: Request,
    services: IdentityServices,
    csrf_token: str = "",
    decision: str = "",
) -> Response:
    interaction = _checked(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    if interaction.step is not Step.CONSENT or decision not in ("approve", "deny"):
        return RedirectResponse(interaction_path(interaction.id), status_code=303)
    try:
        if decision == "approve":
            result = services.flow.consent_given(interaction)
        else:
            result = services.flow.consent_refused(interaction)
    except InteractionError as error:
        return _refusal(request, error, interaction.locale)
    if decision == "approve" and interaction.authentication is not None:
        activity.consent_granted(
            services.audit_writer,
            personal_id_number=interaction.authentication.personal_id_number,
            client_id=interaction.request.client_id,
            scopes=interaction.request.scopes,
        )
    return flow_response(result, services)


@router.post(
    "/{interaction_id}/cancel",
    summary="Go back to the portal without logging in",
    openapi_extra=_step_form(),
)
@direct
async def cancel(request: Request) -> Response:
    return await _form_step_in_thread(request, _cancel, "csrf_token")


def _cancel(
    interaction_id: str, request: Request, services: IdentityServices, csrf_token: str = ""
) -> Response:
    interaction = _checked(request, services, interaction_id, csrf_token)
    if isinstance(interaction, Response):
        return interaction
    try:
        result = services.flow.cancel(interaction)
    except InteractionError as error:
        return _refusal(request, error, interaction.locale)
    return flow_response(result, services)


async def _form_step_in_thread(
    request: Request, step: Callable[..., Response], *field_names: str
) -> Response:
    """``step`` of the interaction in the path, in the thread pool, with the form's
    ``field_names`` as keyword arguments (an absent field is empty, as ``Form()`` had it)."""
    services: IdentityServices = request.app.state.services
    form = await form_fields(request)
    return await in_thread(
        services,
        step,
        interaction_id=request.path_params["interaction_id"],
        request=request,
        services=services,
        **{name: form.get(name, "") for name in field_names},
    )


def _checked(
    request: Request, services: IdentityServices, interaction_id: str, csrf_token: str
) -> Interaction | Response:
    """The interaction, if it exists, belongs to this browser and the CSRF token matches."""
    interaction = services.interactions.load(interaction_id)
    if interaction is None:
        return _refusal(request, InteractionError("expired"), "vi")
    if not interaction.belongs_to(request.cookies.get(BROWSER_COOKIE)):
        return _refusal(request, InteractionError("wrong_browser"), interaction.locale)
    if not interaction.csrf_matches(csrf_token):
        return _refusal(request, InteractionError("csrf"), interaction.locale)
    return interaction


def _refusal(request: Request, error: InteractionError, locale: str) -> Response:
    status = _STATUS_BY_REASON.get(error.reason, 400)
    return error_page(request, error.reason, locale=locale, status_code=status)


def _failed(
    request: Request,
    services: IdentityServices,
    interaction: Interaction,
    error: AuthenticationError,
) -> Response:
    """The same page again with the account service's message (one text for every
    wrong ID number, password or code; 429 and ``Retry-After`` when throttled)."""
    if error.retry_after is not None:
        status, headers = 429, {"Retry-After": str(error.retry_after)}
    else:
        status, headers = 400, None
    return _page(
        request,
        services,
        interaction,
        message=error.message(interaction.locale),
        status_code=status,
        headers=headers,
    )


def _released(
    services: IdentityServices, interaction: Interaction
) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Per scope, the claims the portal will receive and their values for this citizen."""
    authentication = interaction.authentication
    scopes = interaction.request.scopes
    values = (
        services.claims.claims_for(authentication.personal_id_number, scopes)
        if authentication is not None
        else {}
    )
    t = translator(interaction.locale)
    released = []
    for scope in scopes:
        items: list[tuple[str, str | None]] = []
        for claim in SCOPE_CLAIMS[scope]:
            if claim == "sub":
                items.append((claim, None))
            elif claim in values:
                items.append((claim, display_value(claim, values[claim], t)))
        released.append((scope, items))
    return released


def display_value(claim: str, value: object, t: Callable[..., str]) -> str:
    """A claim value as the consent page shows it."""
    if claim == "gender":
        return t(f"value.gender.{value}")
    if isinstance(value, bool):
        return t("value.yes" if value else "value.no")
    if claim == "household" and isinstance(value, dict):
        relation = value.get("relation_to_head")
        return t(
            "value.household",
            id=value.get("id"),
            relation=t(f"value.relation.{relation}") if relation else "—",
            count=value.get("member_count"),
        )
    if isinstance(value, dict):
        return str(value.get("formatted", ""))
    return str(value)


def _client_name(client: RegisteredClient | None, client_id: str, locale: str) -> str:
    if client is not None:
        return client.name
    # The provider's own account page logs citizens in through these pages too.
    return (
        translator(locale)("account.client_name") if client_id == ACCOUNT_CLIENT_ID else client_id
    )


def _page(
    request: Request,
    services: IdentityServices,
    interaction: Interaction,
    *,
    message: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    authorization = interaction.request
    client = services.clients.get(authorization.client_id)
    context = {
        "interaction_id": interaction.id,
        "csrf_token": interaction.csrf_token,
        "client_name": _client_name(client, authorization.client_id, interaction.locale),
        "message": message,
        "login_hint": authorization.login_hint,
        "level2": authorization.required_level >= HIGHEST_LEVEL,
        "step_up": not interaction.password_verified,
        "released": _released(services, interaction) if interaction.step is Step.CONSENT else [],
    }
    language = "en" if interaction.locale == "vi" else "vi"
    return render(
        request,
        _TEMPLATES[interaction.step],
        locale=interaction.locale,
        context=context,
        status_code=status_code,
        headers=headers,
        language_url=f"{interaction_path(interaction.id)}?lang={language}",
        slots=("interaction_id", "csrf_token"),
    )
