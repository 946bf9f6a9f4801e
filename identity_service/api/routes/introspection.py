"""``POST /introspect``: token introspection for authenticated clients (RFC 7662 §2).

Request::

    POST /introspect
    Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW
    Content-Type: application/x-www-form-urlencoded

    token=eyJ...&token_type_hint=access_token

The client authenticates as at the token endpoint (public clients cannot: introspection
tells things about a citizen's grant); without valid credentials the answer is
``401 invalid_client``. Every other answer is 200 with ``{"active": ...}``
(``oidc.introspection``), never cached.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from identity_service.api.deps import ServicesDep
from identity_service.api.errors import NO_STORE, oauth_error_response
from identity_service.api.routes.token import (
    TokenForm,
    authenticated_client,
    form_openapi,
    token_form,
)
from identity_service.oidc.errors import InvalidClientError, InvalidRequestError, OAuthError
from identity_service.oidc.metadata import INTROSPECTION_PATH

router = APIRouter(tags=["token"])

_OPENAPI = form_openapi(
    {
        "token": "The token to look at.",
        "token_type_hint": "`access_token` or `refresh_token` (optional).",
    },
    ["token"],
)


@router.post(
    INTROSPECTION_PATH,
    summary="Token introspection (RFC 7662)",
    openapi_extra=_OPENAPI,
    response_description='{"active": true, ...} or {"active": false}',
)
def introspect(
    request: Request, services: ServicesDep, form: Annotated[TokenForm, Depends(token_form)]
) -> JSONResponse:
    try:
        client = authenticated_client(request, services, form)
        if client.is_public:
            raise InvalidClientError("client authentication failed")
        token = form.get("token")
        if not token:
            raise InvalidRequestError("token is required")
        body = services.introspection.introspect(client, token, form.get("token_type_hint"))
    except OAuthError as error:
        return oauth_error_response(error)
    return JSONResponse(body, headers=NO_STORE)
