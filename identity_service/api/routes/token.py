"""``POST /token``: the token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3).

Authenticates the client (``oidc.client_auth``), checks the grant type is offered and
registered for it, and hands the request to the grant: ``authorization_code``,
``refresh_token`` or ``client_credentials`` (``oidc.grants``). Responses and errors are
JSON with ``Cache-Control: no-store`` and ``Pragma: no-cache`` (RFC 6749 §5.1).

A ``DPoP`` header (RFC 9449) is checked before the client authenticates: a client told
to retry with the server's nonce (``use_dpop_nonce``) can resend the same client
assertion, whose ``jti`` was not spent yet. A client registered for DPoP (or FAPI 2.0)
must send a proof; the grant binds the tokens to its key.

The form parsing and client authentication here are shared with the introspection,
revocation and PAR endpoints, which take the same kind of request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from identity_service.api.deps import IdentityServices
from identity_service.api.direct_routes import FORM_CONTENT_TYPE, direct
from identity_service.api.errors import NO_STORE, oauth_error_response
from identity_service.db import SqliteWriteWouldWaitError, sqlite_writes_without_waiting
from identity_service.oidc.client_auth import ClientCredentials
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.dpop import DPOP_HEADER, NONCE_HEADER, DpopProof
from identity_service.oidc.errors import (
    InvalidDpopProofError,
    InvalidRequestError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from identity_service.oidc.grants import authorization_code, client_credentials, refresh_token
from identity_service.oidc.metadata import FAPI2_ALGORITHMS, TOKEN_PATH

router = APIRouter(tags=["token"])

# Far more than any of these requests has (a PAR request: about twenty).
MAX_FORM_FIELDS = 200
_FIELDS = {
    "grant_type": "`authorization_code`, `refresh_token` or `client_credentials`",
    "code": "authorization_code: the code from the authorization response.",
    "redirect_uri": "authorization_code: the redirect URI of the authorization request.",
    "code_verifier": "authorization_code: the PKCE verifier.",
    "refresh_token": "refresh_token: the refresh token (it is rotated).",
    "scope": "refresh_token: narrower scopes; client_credentials: machine scopes.",
}
_CLIENT_AUTH_FIELDS = {
    "client_id": "For client_secret_post and public clients.",
    "client_secret": "For client_secret_post.",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "client_assertion": "For private_key_jwt (RFC 7523).",
}


def form_openapi(fields: dict[str, str], required: list[str]) -> dict[str, object]:
    """OpenAPI for a form-encoded request with ``fields`` plus client authentication."""
    properties = {
        name: {"type": "string", "description": description}
        for name, description in {**fields, **_CLIENT_AUTH_FIELDS}.items()
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_CONTENT_TYPE: {
                    "schema": {"type": "object", "required": required, "properties": properties}
                }
            },
        }
    }


_OPENAPI = form_openapi(_FIELDS, ["grant_type"])


class Grant(Protocol):
    """What the token endpoint asks of a grant (``oidc.grants``)."""

    def exchange(
        self, client: RegisteredClient, form: Mapping[str, str], dpop: DpopProof | None = None
    ) -> dict[str, Any]: ...


class TokenForm(dict[str, str]):
    """The token request's parameters, or the reason they cannot be used."""

    error: OAuthError | None = None


async def token_form(request: Request) -> TokenForm:
    """The form of a token, introspection, revocation or PAR request.

    Parsed here with ``urllib.parse`` rather than by Starlette's form parser (a streaming
    multipart machine, five times slower on a small form): the body is already bounded
    by ``RequestLimitsMiddleware``, and these endpoints take nothing but a URL-encoded
    form of a few fields."""
    form = TokenForm()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        form.error = InvalidRequestError(f"the body must be {FORM_CONTENT_TYPE}")
        return form
    try:
        pairs = parse_qsl(
            (await request.body()).decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # not ASCII, not UTF-8 once decoded, or too many fields
        form.error = InvalidRequestError(f"the body is not a {FORM_CONTENT_TYPE} form")
        return form
    for name, value in pairs:
        # RFC 6749 §3.2: parameters must not be repeated.
        if name in form:
            form.error = InvalidRequestError(f"parameter {name} is repeated")
            return form
        if value:  # RFC 6749 §3.1: an empty parameter counts as omitted
            form[name] = value
    return form


def authenticated_client(
    request: Request, services: IdentityServices, form: TokenForm
) -> RegisteredClient:
    """The client that authenticated this form-encoded request, or an ``OAuthError``."""
    if form.error is not None:
        raise form.error
    return services.client_authenticator.authenticate(
        ClientCredentials(
            authorization=request.headers.get("authorization"),
            client_id=form.get("client_id"),
            client_secret=form.get("client_secret"),
            client_assertion=form.get("client_assertion"),
            client_assertion_type=form.get("client_assertion_type"),
        )
    )


def dpop_proof(request: Request, services: IdentityServices, url: str) -> DpopProof | None:
    """The request's DPoP proof for the endpoint at ``url``, or None if it sent none."""
    values = request.headers.getlist(DPOP_HEADER)
    if not values:
        return None
    return services.dpop.verify(values, method=request.method, url=url)


def check_client_dpop(
    client: RegisteredClient, proof: DpopProof | None, *, required: bool = True
) -> None:
    """A client registered for DPoP must send a proof (where ``required``); a FAPI 2.0
    client's uses PS256, ES256 or EdDSA."""
    if proof is None:
        if required and client.dpop_bound_access_tokens:
            raise InvalidDpopProofError("this client must send a DPoP proof")
        return
    if client.fapi2 and proof.alg not in FAPI2_ALGORITHMS:
        raise InvalidDpopProofError(
            f"a fapi2 client's DPoP proofs use {' '.join(FAPI2_ALGORITHMS)}"
        )


def dpop_response_headers(request: Request, services: IdentityServices) -> dict[str, str]:
    """``DPoP-Nonce`` with the current nonce, for a request that used DPoP."""
    nonce = services.dpop.current_nonce()
    if nonce is None or DPOP_HEADER.lower() not in request.headers:
        return {}
    return {NONCE_HEADER: nonce}


@router.post(TOKEN_PATH, summary="Token endpoint", openapi_extra=_OPENAPI)
@direct  # a hot path: served by a plain Starlette route, no dependency injection
async def token(request: Request) -> JSONResponse:
    services: IdentityServices = request.app.state.services
    form = await token_form(request)
    # Asynchronous: with local storage the client credentials grant and a code exchange
    # that stores no refresh token are memory and signatures, and a refresh writes one
    # SQLite transaction that waits for nobody, so they run on the event loop (a hand-off
    # to the thread pool costs about 200 µs on a busy core). A refresh that finds the
    # write lock taken, the other grants that write the database, and every grant when
    # storage is on the network go to the thread pool. Either way their audit entries are
    # committed before the answer leaves.
    nonce_headers = dpop_response_headers(request, services)
    on_loop = services.local_storage and _on_loop(services, form)
    async with services.audit_writer.deferring():
        try:
            if on_loop:
                body = await _exchange_on_loop(request, services, form)
            else:
                body = await run_in_threadpool(_exchange, request, services, form)
        except OAuthError as error:
            response = oauth_error_response(error, dpop_nonce=nonce_headers.get(NONCE_HEADER))
        else:
            response = JSONResponse(body, headers={**NO_STORE, **nonce_headers})
    return response


def _on_loop(services: IdentityServices, form: TokenForm) -> bool:
    """Whether the grant asked for may run on the event loop with local storage (the
    state store is memory, clients are cached, SQLite is a file): it touches no database,
    or, for a refresh, writes it only in a way that can be repeated in the thread pool
    when it would wait (``db.sqlite_writes_without_waiting``)."""
    grant_type = form.get("grant_type")
    if grant_type in (client_credentials.GRANT_TYPE, refresh_token.GRANT_TYPE):
        return True
    if grant_type == authorization_code.GRANT_TYPE:
        return services.code_grant.stays_in_state_store(form.get("code"))
    return False


async def _exchange_on_loop(
    request: Request, services: IdentityServices, form: TokenForm
) -> dict[str, Any]:
    grant, client, proof = _checked_request(request, services, form)
    try:
        with sqlite_writes_without_waiting():
            return grant.exchange(client, form, proof)
    except SqliteWriteWouldWaitError:
        # Nothing was written: the grant runs again where it may wait. Not the client
        # authentication or the DPoP proof, whose jti values are spent by now.
        return await run_in_threadpool(grant.exchange, client, form, proof)


def _exchange(request: Request, services: IdentityServices, form: TokenForm) -> dict[str, Any]:
    """The token response's body for a grant the client may use, or an ``OAuthError``."""
    grant, client, proof = _checked_request(request, services, form)
    return grant.exchange(client, form, proof)


def _checked_request(
    request: Request, services: IdentityServices, form: TokenForm
) -> tuple[Grant, RegisteredClient, DpopProof | None]:
    """The grant to run for the client that authenticated (and its DPoP proof), once the
    client may use it; an ``OAuthError`` otherwise."""
    if form.error is not None:
        raise form.error
    proof = dpop_proof(request, services, services.urls.token_endpoint)
    client = authenticated_client(request, services, form)
    check_client_dpop(client, proof)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequestError("grant_type is required")
    grants: dict[str, Grant] = {
        authorization_code.GRANT_TYPE: services.code_grant,
        refresh_token.GRANT_TYPE: services.refresh_grant,
        client_credentials.GRANT_TYPE: services.client_credentials_grant,
    }
    grant = grants.get(grant_type)
    if grant is None:
        raise UnsupportedGrantTypeError(f"grant type {grant_type[:64]!r} is not offered")
    if grant_type not in client.grant_types:
        raise UnauthorizedClientError("this client is not registered for this grant type")
    return grant, client, proof
