"""``POST /par``: the pushed authorization request endpoint (RFC 9126 §2).

Request (the client authenticates as at the token endpoint)::

    POST /par
    Content-Type: application/x-www-form-urlencoded

    response_type=code&client_id=demo-bank&redirect_uri=https%3A%2F%2F…%2Fcallback
    &scope=openid%20profile&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj
    &code_challenge=K2-ltc83acc4h0c9w6ESC_rEMTJ3bww-uCHaoeK1t8U&code_challenge_method=S256
    &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer
    &client_assertion=eyJ…

Response (201)::

    {"request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
     "expires_in": 60}

The browser then goes to ``/authorize?client_id=demo-bank&request_uri=urn:…``. The
parameters are validated as the authorization endpoint validates them, or taken from a
signed request object (``request``, RFC 9101); errors are OAuth JSON (RFC 9126 §2.3),
never a redirect. With a ``DPoP`` header the code will be bound to the proof's key
(RFC 9449 §10.1).
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
    check_client_dpop,
    dpop_proof,
    dpop_response_headers,
    form_openapi,
    token_form,
)
from identity_service.oidc.dpop import NONCE_HEADER
from identity_service.oidc.errors import OAuthError
from identity_service.oidc.metadata import PUSHED_AUTHORIZATION_REQUEST_PATH

router = APIRouter(tags=["authorization"])

# Parameters of client authentication: they authenticate the push, they are not part of
# the authorization request.
_CLIENT_AUTHENTICATION = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
_OPENAPI = form_openapi(
    {
        "response_type": "Must be `code`.",
        "redirect_uri": "Exactly one of the client's registered redirect URIs.",
        "scope": "Space-separated; must include `openid`.",
        "code_challenge": "PKCE: base64url(SHA-256(code_verifier)).",
        "code_challenge_method": "Must be `S256`.",
        "state": "Opaque value returned unchanged.",
        "nonce": "Copied into the ID token.",
        "prompt": "`none`, `login` or `consent`.",
        "max_age": "Maximum seconds since the last authentication.",
        "login_hint": "A personal ID number to pre-fill.",
        "ui_locales": "`vi` (default) or `en`.",
        "acr_values": "`urn:natid:acr:level1` or `urn:natid:acr:level2`.",
        "dpop_jkt": "Bind the code to this DPoP key (RFC 9449 §10).",
        "request": "A signed request object (RFC 9101) holding the parameters instead.",
    },
    [],
)


@router.post(
    PUSHED_AUTHORIZATION_REQUEST_PATH,
    summary="Pushed authorization request (RFC 9126)",
    openapi_extra=_OPENAPI,
    status_code=201,
    response_description='{"request_uri": "urn:ietf:params:oauth:request_uri:…", "expires_in": 60}',
)
def pushed_authorization_request(
    request: Request, services: ServicesDep, form: Annotated[TokenForm, Depends(token_form)]
) -> JSONResponse:
    nonce_headers = dpop_response_headers(request, services)
    try:
        if form.error is not None:
            raise form.error
        proof = dpop_proof(request, services, services.urls.pushed_authorization_request_endpoint)
        client = authenticated_client(request, services, form)
        # A proof is optional here (RFC 9449 §10.1); the token request must carry one.
        check_client_dpop(client, proof, required=False)
        parameters = {
            name: [value] for name, value in form.items() if name not in _CLIENT_AUTHENTICATION
        }
        request_uri = services.authorization_requests.push(
            client, parameters, dpop_jkt=None if proof is None else proof.jkt
        )
    except OAuthError as error:
        return oauth_error_response(error, dpop_nonce=nonce_headers.get(NONCE_HEADER))
    body = {
        "request_uri": request_uri,
        "expires_in": services.authorization_requests.pushed_request_ttl,
    }
    return JSONResponse(body, status_code=201, headers={**NO_STORE, **nonce_headers})
