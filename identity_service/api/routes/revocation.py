"""``POST /revoke``: token revocation (RFC 7009 §2).

Request::

    POST /revoke
    Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW
    Content-Type: application/x-www-form-urlencoded

    token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token

The client authenticates as at the token endpoint (a public client names itself with
``client_id``, RFC 7009 §5); without valid credentials the answer is
``401 invalid_client``. Otherwise the answer is 200 with an empty body whether or not
anything was revoked (§2.2): unknown and foreign tokens reveal nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from identity_service.api.deps import ServicesDep
from identity_service.api.errors import NO_STORE, oauth_error_response
from identity_service.api.routes.token import (
    TokenForm,
    authenticated_client,
    form_openapi,
    token_form,
)
from identity_service.oidc.errors import InvalidRequestError, OAuthError
from identity_service.oidc.metadata import REVOCATION_PATH

router = APIRouter(tags=["token"])

_OPENAPI = form_openapi(
    {
        "token": "The token to revoke.",
        "token_type_hint": "`access_token` or `refresh_token` (optional).",
    },
    ["token"],
)


@router.post(
    REVOCATION_PATH,
    summary="Token revocation (RFC 7009)",
    openapi_extra=_OPENAPI,
    response_class=Response,
    response_description="Empty: the token is no longer usable (or never was)",
)
def revoke(
    request: Request, services: ServicesDep, form: Annotated[TokenForm, Depends(token_form)]
) -> Response:
    try:
        client = authenticated_client(request, services, form)
        token = form.get("token")
        if not token:
            raise InvalidRequestError("token is required")
        services.revocation.revoke(client, token, form.get("token_type_hint"))
    except OAuthError as error:
        return oauth_error_response(error)
    return Response(headers=NO_STORE)
