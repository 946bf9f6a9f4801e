"""Why logging in with the e-ID can fail, as the portal tells the citizen.

::

    EidLoginError                 every failure has a ``code`` the error page explains
    ├── LoginStateError           callback without a matching pending login (stale, replayed,
    │                             or started in another browser)
    ├── ProviderRefusedError      the IdP answered the authorization request with an error
    │                             (access_denied, login_required, interaction_required …)
    ├── IssuerMismatchError       the callback names another issuer (RFC 9207 mix-up defence)
    ├── TokenExchangeError        the token endpoint refused the code
    ├── IdTokenError              the ID token failed verification (signature, iss, aud, exp,
    │                             nonce, acr …)
    ├── InsufficientLevelError    the level achieved is below the level the page needs
    └── ProviderUnavailableError  the IdP could not be reached or answered 5xx
"""

from __future__ import annotations


class EidLoginError(Exception):
    code = "login_failed"
    status_code = 400

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class LoginStateError(EidLoginError):
    code = "login_state"


class ProviderRefusedError(EidLoginError):
    """``error`` is the OAuth error code exactly as the IdP sent it."""

    code = "provider_refused"

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(description)
        self.error = error


class IssuerMismatchError(EidLoginError):
    code = "issuer_mismatch"


class TokenExchangeError(EidLoginError):
    code = "token_exchange"
    status_code = 502


class IdTokenError(EidLoginError):
    code = "id_token_invalid"
    status_code = 502


class InsufficientLevelError(EidLoginError):
    code = "insufficient_level"
    status_code = 403

    def __init__(self, achieved: int | None, required: int) -> None:
        super().__init__(f"level {achieved} achieved, level {required} required")
        self.achieved = achieved
        self.required = required


class ProviderUnavailableError(EidLoginError):
    code = "provider_unavailable"
    status_code = 503
