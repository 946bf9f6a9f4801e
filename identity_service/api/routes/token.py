"""``POST /token``: the token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3).

Authenticates the client (``oidc.client_auth``), checks the grant type is offered and
registered for it, and hands the request to the grant. Responses and errors are JSON
with ``Cache-Control: no-store`` and ``Pragma: no-cache`` (RFC 6749 §5.1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from identity_service.api.deps import ServicesDep
from identity_service.api.errors import NO_STORE, oauth_error_response
from identity_service.oidc.client_auth import ClientCredentials
from identity_service.oidc.errors import (
    InvalidRequestError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from identity_service.oidc.grants.authorization_code import GRANT_TYPE as AUTHORIZATION_CODE
from identity_service.oidc.metadata import TOKEN_PATH

router = APIRouter(tags=["token"])

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_FIELDS = {
    "grant_type": "`authorization_code`",
    "code": "The code from the authorization response.",
    "redirect_uri": "The redirect URI of the authorization request.",
    "code_verifier": "The PKCE verifier.",
    "client_id": "For client_secret_post and public clients.",
    "client_secret": "For client_secret_post.",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "client_assertion": "For private_key_jwt (RFC 7523).",
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        name: {"type": "string", "description": description}
                        for name, description in _FIELDS.items()
                    },
                }
            }
        },
    }
}


class TokenForm(dict[str, str]):
    """The token request's parameters, or the reason they cannot be used."""

    error: OAuthError | None = None


async def token_form(request: Request) -> TokenForm:
    form = TokenForm()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        form.error = InvalidRequestError(f"the body must be {FORM_CONTENT_TYPE}")
        return form
    parsed = await request.form()
    for name, value in parsed.multi_items():
        # RFC 6749 §3.2: parameters must not be repeated.
        if name in form or not isinstance(value, str):
            form.error = InvalidRequestError(f"parameter {name} is repeated or not text")
            return form
        if value:  # RFC 6749 §3.1: an empty parameter counts as omitted
            form[name] = value
    return form


@router.post(TOKEN_PATH, summary="Token endpoint", openapi_extra=_OPENAPI)
def token(
    request: Request, services: ServicesDep, form: Annotated[TokenForm, Depends(token_form)]
) -> JSONResponse:
    try:
        if form.error is not None:
            raise form.error
        client = services.client_authenticator.authenticate(
            ClientCredentials(
                authorization=request.headers.get("authorization"),
                client_id=form.get("client_id"),
                client_secret=form.get("client_secret"),
                client_assertion=form.get("client_assertion"),
                client_assertion_type=form.get("client_assertion_type"),
            )
        )
        grant_type = form.get("grant_type")
        if not grant_type:
            raise InvalidRequestError("grant_type is required")
        if grant_type != AUTHORIZATION_CODE:
            raise UnsupportedGrantTypeError(f"grant type {grant_type[:64]!r} is not offered")
        if grant_type not in client.grant_types:
            raise UnauthorizedClientError("this client is not registered for this grant type")
        body = services.code_grant.exchange(client, form)
    except OAuthError as error:
        return oauth_error_response(error)
    return JSONResponse(body, headers=NO_STORE)
