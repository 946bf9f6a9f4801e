"""Rendering protocol errors: OAuth JSON (RFC 6749 §5.2) and bearer challenges (RFC 6750).

Every error body is ``{"error": ..., "error_description": ...}`` with
``Cache-Control: no-store`` and ``Pragma: no-cache``. ``invalid_client`` answers 401
with a ``Basic`` challenge; resource errors (userinfo) carry a ``Bearer`` challenge.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from identity_service.oidc.errors import InvalidClientError, OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REALM = "natid"


def oauth_error_response(error: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(error, InvalidClientError):
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


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
