"""e-ID accounts: registration against the population database, password and TOTP login
steps, lockout and rate limits, levels of assurance, demo accounts.

``AccountService`` (``service``) is the entry point; errors are in ``errors``; the
lockout rules are written out in ``lockout``'s docstring.
"""

from identity_service.accounts.errors import (
    AccountError,
    AccountInactiveError,
    AccountLockedError,
    AccountNotFoundError,
    AuthenticationError,
    DemoSeedError,
    LoginFailedError,
    PasswordPolicyError,
    RateLimitedError,
    RegistrationError,
    message_for,
)
from identity_service.accounts.models import (
    Account,
    AccountLevel,
    AccountStatus,
    AccountSummary,
    AuthenticatedAccount,
    DemoCredential,
    TotpEnrollment,
)
from identity_service.accounts.service import AccountService

__all__ = [
    "Account",
    "AccountError",
    "AccountInactiveError",
    "AccountLevel",
    "AccountLockedError",
    "AccountNotFoundError",
    "AccountService",
    "AccountStatus",
    "AccountSummary",
    "AuthenticatedAccount",
    "AuthenticationError",
    "DemoCredential",
    "DemoSeedError",
    "LoginFailedError",
    "PasswordPolicyError",
    "RateLimitedError",
    "RegistrationError",
    "TotpEnrollment",
    "message_for",
]
