"""Protocol errors of the OpenID Connect provider, one class per wire error code.

::

    OAuthError                       RFC 6749 §4.1.2.1 / §5.2, OIDC Core §3.1.2.6
    ├── InvalidRequestError          400 invalid_request
    ├── InvalidClientError           401 invalid_client (WWW-Authenticate at the edge)
    ├── InvalidGrantError            400 invalid_grant
    ├── UnauthorizedClientError      400 unauthorized_client
    ├── UnsupportedGrantTypeError    400 unsupported_grant_type
    ├── UnsupportedResponseTypeError 400 unsupported_response_type
    ├── InvalidScopeError            400 invalid_scope
    ├── AccessDeniedError            403 access_denied
    ├── LoginRequiredError           login_required        (prompt=none)
    ├── ConsentRequiredError         consent_required      (prompt=none)
    ├── InteractionRequiredError     interaction_required  (prompt=none, step-up)
    ├── RequestNotSupportedError     request_not_supported
    ├── RequestUriNotSupportedError  request_uri_not_supported
    ├── InvalidRequestUriError       invalid_request_uri   (RFC 9126 §4: unknown, expired, used)
    ├── InvalidRequestObjectError    invalid_request_object (RFC 9101 §6.3)
    ├── InvalidDpopProofError        400 invalid_dpop_proof (RFC 9449 §5, §7.1)
    ├── UseDpopNonceError            400 use_dpop_nonce     (RFC 9449 §8, §9)
    ├── InvalidTokenError            401 invalid_token     (RFC 6750 §3.1, userinfo)
    └── InsufficientScopeError       403 insufficient_scope
    AuthorizationRedirectError       an OAuthError to send back to the client's redirect URI
    UnsafeAuthorizationRequestError  the client or redirect URI cannot be trusted: show a
                                     page, never redirect (RFC 6749 §4.1.2.1)

The edge (``identity_service.api``) renders every one of them in its protocol's shape;
nothing here knows about HTTP frameworks.
"""

from __future__ import annotations

from typing import ClassVar


class OAuthError(Exception):
    """A protocol error: ``error`` is the wire code, ``description`` human-readable ASCII."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str | None = None) -> None:
        self.description = description
        super().__init__(f"{self.error}: {description}" if description else self.error)

    def body(self) -> dict[str, str]:
        """The JSON body of RFC 6749 §5.2 (``error`` and, when known, its description)."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequestError(OAuthError):
    error = "invalid_request"


class InvalidClientError(OAuthError):
    error = "invalid_client"
    status_code = 401


class InvalidGrantError(OAuthError):
    error = "invalid_grant"


class UnauthorizedClientError(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseTypeError(OAuthError):
    error = "unsupported_response_type"


class InvalidScopeError(OAuthError):
    error = "invalid_scope"


class AccessDeniedError(OAuthError):
    error = "access_denied"
    status_code = 403


class LoginRequiredError(OAuthError):
    error = "login_required"


class ConsentRequiredError(OAuthError):
    error = "consent_required"


class InteractionRequiredError(OAuthError):
    error = "interaction_required"


class RequestNotSupportedError(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupportedError(OAuthError):
    error = "request_uri_not_supported"


class InvalidRequestUriError(OAuthError):
    error = "invalid_request_uri"


class InvalidRequestObjectError(OAuthError):
    error = "invalid_request_object"


class InvalidDpopProofError(OAuthError):
    error = "invalid_dpop_proof"


class UseDpopNonceError(OAuthError):
    """The proof lacks the server's current nonce; the answer carries ``DPoP-Nonce``."""

    error = "use_dpop_nonce"


class InvalidTokenError(OAuthError):
    error = "invalid_token"
    status_code = 401


class InsufficientScopeError(OAuthError):
    error = "insufficient_scope"
    status_code = 403


class AuthorizationRedirectError(Exception):
    """An authorization error for a trusted client: answer by redirecting to it.

    ``redirect_uri`` is the registered URI the request named and ``state`` the client's
    value, echoed back as RFC 6749 §4.1.2.1 requires.
    """

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        super().__init__(str(error))


class UnsafeAuthorizationRequestError(Exception):
    """The client is unknown or the redirect URI is not registered for it.

    Redirecting would turn the provider into an open redirector, so the user sees an
    error page instead. ``reason`` keys the page's translated explanation.
    """

    def __init__(self, reason: str, description: str) -> None:
        self.reason = reason
        self.description = description
        super().__init__(description)
