"""Where an authorization request's parameters come from, before they are validated.

Three sources (the validation itself is ``requests.parse_authorization_request``):

* the query or form of ``/authorize`` — the plain OAuth request;
* a signed request object (``request``, RFC 9101, ``request_objects``): its claims are
  the parameters, and only they are used;
* a pushed request (a ``request_uri`` the PAR endpoint issued, RFC 9126): validated when
  it was pushed, parked, and taken once here; other parameters sent beside it are
  ignored (RFC 9126 §4), except ``client_id``, which must be the pushing client's.

At the authorization endpoint an unknown, expired or reused ``request_uri`` shows an
error page (there is no trusted redirect URI to answer to). A bad request object
redirects ``invalid_request_object`` to the redirect URI sent beside it if that one is
registered, else shows the page. At the PAR endpoint every fault is a JSON error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from identity_service.oidc.clients import ClientRegistry, RegisteredClient
from identity_service.oidc.errors import (
    AuthorizationRedirectError,
    InvalidDpopProofError,
    InvalidRequestError,
    InvalidRequestObjectError,
    UnsafeAuthorizationRequestError,
)
from identity_service.oidc.pushed_requests import REQUEST_URI_PREFIX, PushedRequests
from identity_service.oidc.request_objects import RequestObjects
from identity_service.oidc.requests import (
    AuthorizationRequest,
    first_value,
    parse_authorization_request,
    registered_redirect_uri,
    trusted_client,
)

Parameters = Mapping[str, Sequence[str]]


class AuthorizationRequests:
    def __init__(
        self,
        *,
        clients: ClientRegistry,
        request_objects: RequestObjects,
        pushed: PushedRequests,
    ) -> None:
        self._clients = clients
        self._request_objects = request_objects
        self._pushed = pushed

    @property
    def pushed_request_ttl(self) -> int:
        return self._pushed.ttl

    def at_authorization_endpoint(self, params: Parameters) -> AuthorizationRequest:
        """The request ``/authorize`` received, validated; raises
        ``UnsafeAuthorizationRequestError`` or ``AuthorizationRedirectError``."""
        client = trusted_client(params, self._clients)
        request_uri = params.get("request_uri") or []
        if any(value.startswith(REQUEST_URI_PREFIX) for value in request_uri):
            return self._taken(params, client)
        # Any other request_uri is refused in the parameters' validation (we fetch none).
        if params.get("request"):
            return self._from_request_object(params, client)
        return parse_authorization_request(params, self._clients)

    def push(self, client: RegisteredClient, params: Parameters, *, dpop_jkt: str | None) -> str:
        """Validate a pushed request of the authenticated ``client`` and park it; its
        request URI. ``dpop_jkt`` is the key of the DPoP proof sent with the push (RFC 9449
        §10.1), which the code will be bound to. Raises ``OAuthError``."""
        if params.get("request_uri"):
            raise InvalidRequestError("request_uri is not allowed in a pushed request")
        named = params.get("client_id") or [client.client_id]
        if list(named) != [client.client_id]:
            raise InvalidRequestError("client_id differs from the authenticated client")
        signed = bool(params.get("request"))
        if signed:
            request_object = _single(params, "request", InvalidRequestError)
            params = self._request_objects.parameters(client, request_object)
        params = {**params, "client_id": [client.client_id]}
        try:
            request = parse_authorization_request(params, self._clients, pushed=True, signed=signed)
        except UnsafeAuthorizationRequestError as error:
            raise InvalidRequestError(error.description) from None
        except AuthorizationRedirectError as error:
            raise error.error from None
        if dpop_jkt is not None:
            if request.dpop_jkt is not None and request.dpop_jkt != dpop_jkt:
                raise InvalidDpopProofError("dpop_jkt differs from the key of the DPoP proof")
            request = replace(request, dpop_jkt=dpop_jkt)
        return self._pushed.push(request)

    def _taken(self, params: Parameters, client: RegisteredClient) -> AuthorizationRequest:
        request_uri = _single(params, "request_uri", None)
        request = self._pushed.take(request_uri, client.client_id)
        if request is None:
            raise UnsafeAuthorizationRequestError(
                "request_uri_invalid", "request_uri is unknown, expired or already used"
            )
        return request

    def _from_request_object(
        self, params: Parameters, client: RegisteredClient
    ) -> AuthorizationRequest:
        request_object = _single(params, "request", None)
        try:
            inner = self._request_objects.parameters(client, request_object)
        except InvalidRequestObjectError as error:
            redirect_uri = registered_redirect_uri(params, client)
            if redirect_uri is None:
                raise UnsafeAuthorizationRequestError(
                    "invalid_request_object", error.description or error.error
                ) from None
            raise AuthorizationRedirectError(
                error, redirect_uri, first_value(params, "state")
            ) from None
        return parse_authorization_request(inner, self._clients, signed=True)


def _single(params: Parameters, name: str, error_type: type[InvalidRequestError] | None) -> str:
    values = params.get(name) or []
    if len(values) != 1:
        if error_type is not None:
            raise error_type(f"{name} is given more than once")
        raise UnsafeAuthorizationRequestError(
            "repeated_parameter", f"{name} is given more than once"
        )
    return values[0]
