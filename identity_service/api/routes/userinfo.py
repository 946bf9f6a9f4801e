"""``GET|POST /userinfo``: claims about the citizen for a bearer access token (OIDC Core §5.3).

The token must be one of ours (signature, ``typ: at+jwt``, issuer, audience, lifetime)
and still on record (not revoked, e.g. by a replayed code). Claims follow the token's
granted scopes; ``sub`` is the same pairwise value as in the ID token. The token is
accepted only in the ``Authorization`` header (RFC 6750 §2.1): ``Bearer``, or ``DPoP``
with a proof by the key the token is bound to (RFC 9449 §7; a bound token sent as
``Bearer`` is refused, and so is an unbound one sent as ``DPoP``). Every answer is a
release of the citizen's data to the portal and is audited (``data.released``: the claim
names, never their values) before it is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from identity_service import activity
from identity_service.api.deps import IdentityServices
from identity_service.api.direct_routes import direct
from identity_service.api.errors import (
    NO_STORE,
    bearer_error_response,
    resource_error_response,
)
from identity_service.api.routes.token import dpop_response_headers
from identity_service.api.steps import on_loop_when_local
from identity_service.oidc.access_tokens import IssuedAccessToken
from identity_service.oidc.dpop import (
    DPOP_HEADER,
    DPOP_SCHEME,
    NONCE_HEADER,
    bound_key,
    check_token_binding,
    presented_token,
)
from identity_service.oidc.errors import InsufficientScopeError, InvalidTokenError, OAuthError
from identity_service.oidc.levels import ACR_LEVEL1, ACR_LEVEL2
from identity_service.oidc.metadata import USERINFO_PATH
from identity_service.tokens import InvalidTokenError as TokenRejectedError

router = APIRouter(tags=["userinfo"])

MAX_TOKEN_LENGTH = 8192
_LEVEL_BY_ACR = {ACR_LEVEL1: 1, ACR_LEVEL2: 2}


@router.get(USERINFO_PATH, summary="Claims about the logged-in citizen")
@direct  # the last step of most logins: a plain Starlette route, no dependency injection
async def userinfo_get(request: Request) -> JSONResponse:
    services: IdentityServices = request.app.state.services
    return await on_loop_when_local(services, _userinfo, request, services)


@router.post(USERINFO_PATH, summary="Claims about the logged-in citizen (POST)")
@direct
async def userinfo_post(request: Request) -> JSONResponse:
    services: IdentityServices = request.app.state.services
    return await on_loop_when_local(services, _userinfo, request, services)


def _userinfo(request: Request, services: IdentityServices) -> JSONResponse:
    presented = presented_token(request.headers.get("authorization"))
    if presented is None:
        return bearer_error_response(
            InvalidTokenError("a bearer access token is required"), with_code=False
        )
    nonce_headers = dpop_response_headers(request, services)
    dpop = presented.scheme == DPOP_SCHEME

    def refuse(error: OAuthError) -> JSONResponse:
        return resource_error_response(error, dpop=dpop, dpop_nonce=nonce_headers.get(NONCE_HEADER))

    token = presented.token
    if len(token) > MAX_TOKEN_LENGTH:
        return refuse(InvalidTokenError("the access token is not valid"))
    records: dict[str, IssuedAccessToken] = {}

    def issued_digest(jti: str) -> str | None:
        # Looked up during the verification: a token its record names by digest needs
        # no second signature check.
        record = services.access_tokens.lookup(jti)
        if record is None:
            return None
        records[jti] = record
        return record.digest

    try:
        claims = services.tokens.verify_access_token(token, issued_digest=issued_digest)
    except TokenRejectedError:
        return refuse(InvalidTokenError("the access token is not valid"))
    dpop = dpop or bound_key(claims) is not None
    try:
        check_token_binding(
            services.dpop,
            claims,
            presented,
            request.headers.getlist(DPOP_HEADER),
            method=request.method,
            url=services.urls.userinfo_endpoint,
        )
    except OAuthError as error:
        return refuse(error)
    record = records.get(claims["jti"]) if isinstance(claims["jti"], str) else None
    if record is None or record.client_id != claims.get("client_id"):
        return refuse(InvalidTokenError("the access token was revoked"))
    if "openid" not in record.scopes:
        return refuse(InsufficientScopeError("the openid scope is required"))
    body = {
        "sub": claims["sub"],
        **services.claims.claims_for(record.personal_id_number, record.scopes),
    }
    # Audited before it is sent: the citizen's history lists every release.
    activity.data_released(
        services.audit_writer,
        personal_id_number=record.personal_id_number,
        client_id=record.client_id,
        claims=body,
        level=_LEVEL_BY_ACR.get(claims.get("acr")),
        channel="userinfo",
    )
    return JSONResponse(body, headers={**NO_STORE, **nonce_headers})
