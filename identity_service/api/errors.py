"""Rendering protocol errors: OAuth JSON (RFC 6749 §5.2), bearer and DPoP challenges.

Every error body is ``{"error": ..., "error_description": ...}`` with
``Cache-Control: no-store`` and ``Pragma: no-cache``. ``invalid_client`` answers 401
with a ``Basic`` challenge; resource errors (userinfo) carry a ``Bearer`` challenge, or a
``DPoP`` one with the accepted algorithms when the token is DPoP-bound or came with the
DPoP scheme (RFC 9449 §7.1). A DPoP error at a resource endpoint is a 401; a
``use_dpop_nonce`` answer anywhere carries the nonce to use in ``DPoP-Nonce``.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from identity_service.oidc.dpop import NONCE_HEADER
from identity_service.oidc.errors import (
    InvalidClientError,
    InvalidDpopProofError,
    OAuthError,
    UseDpopNonceError,
)
from identity_service.oidc.metadata import DPOP_ALGORITHMS

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REALM = "natid"


def oauth_error_response(error: OAuthError, *, dpop_nonce: str | None = None) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(error, InvalidClientError):
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    if dpop_nonce is not None:
        headers[NONCE_HEADER] = dpop_nonce
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


def resource_error_response(
    error: OAuthError, *, dpop: bool, dpop_nonce: str | None = None
) -> JSONResponse:
    """An error of a resource endpoint taking bearer and DPoP tokens (userinfo)."""
    if not dpop:
        return bearer_error_response(error)
    return JSONResponse(
        error.body(),
        status_code=401
        if isinstance(error, InvalidDpopProofError | UseDpopNonceError)
        else error.status_code,
        headers={
            **NO_STORE,
            "WWW-Authenticate": dpop_challenge(error),
            **({NONCE_HEADER: dpop_nonce} if dpop_nonce is not None else {}),
        },
    )


def dpop_challenge(error: OAuthError | None) -> str:
    """``WWW-Authenticate: DPoP …`` (RFC 9449 §7.1), with an error code when there is one."""
    challenge = f'DPoP realm="{REALM}", algs="{" ".join(DPOP_ALGORITHMS)}"'
    if error is not None:
        challenge += f', error="{error.error}"'
        if error.description:
            challenge += f', error_description="{error.description.replace(chr(34), chr(39))}"'
    return challenge


def bearer_error_response(error: OAuthError, *, with_code: bool = True) -> JSONResponse:
    """A resource-endpoint error with its ``WWW-Authenticate: Bearer`` challenge.

    ``with_code=False`` is for requests without any token: RFC 6750 §3.1 says the
    challenge should then carry no error code.
    """
    challenge = f'Bearer realm="{REALM}"'
    if with_code:
        challenge += f', error="{error.error}"'
        if error.description:
            description = error.description.replace('"', "'")
            challenge += f', error_description="{description}"'
    headers = {**NO_STORE, "WWW-Authenticate": challenge}
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)
