"""What the token lifecycle tells the audit log and the metrics: tokens issued and revoked.

Every token response appends a ``token.issued`` entry (grant type, scope, the access
token's ``jti``, the refresh token family when one was issued) and counts the grant;
every revocation — by the revocation endpoint, by refresh-token reuse detection, by a
citizen withdrawing consent — appends ``token.revoked`` with its reason; a request that
looks like an attack without revoking anything appends ``token.refused``. Entries name the
citizen only as the audit log does (a keyed hash and a masked form) and never hold a
token: a ``jti`` or a family id identifies a token without being usable as one.

Failures are recorded under the detail key ``error`` (the audit log redacts ``code``).
"""

from __future__ import annotations

from typing import Any, Protocol

from identity_service.audit import AuditEvent
from identity_service.metrics import Metrics

# Not in AuditEvent: a refused token request that looks like an attack (e.g. a refresh
# token presented by a client it was not issued to).
TOKEN_REFUSED = "token.refused"


class AuditRecorder(Protocol):
    """``AuditLog`` or its group-commit ``AuditWriter``: both record this way."""

    def record(
        self,
        event: str,
        *,
        subject: str | None = None,
        client_id: str | None = None,
        level: int | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Any: ...


class TokenEvents:
    """Records token issuance and revocation in the audit log and the metrics."""

    def __init__(self, audit: AuditRecorder, metrics: Metrics) -> None:
        self._audit = audit
        self._metrics = metrics

    def issued(
        self,
        grant_type: str,
        client_id: str,
        *,
        scope: str,
        jti: str,
        subject: str | None = None,
        level: int | None = None,
        refresh_family: str | None = None,
    ) -> None:
        """A token response was produced (``subject``: the citizen's personal ID number)."""
        details: dict[str, Any] = {"grant_type": grant_type, "scope": scope, "jti": jti}
        if refresh_family is not None:
            details["refresh_family"] = refresh_family
        self._audit.record(
            AuditEvent.TOKEN_ISSUED,
            subject=subject,
            client_id=client_id,
            level=level,
            details=details,
        )
        self._metrics.token_issued(grant_type)

    def refused(
        self,
        grant_type: str,
        client_id: str,
        *,
        reason: str,
        error: str,
        subject: str | None = None,
        refresh_family: str | None = None,
    ) -> None:
        """A token request that points at an attack (not every malformed request)."""
        details: dict[str, Any] = {"grant_type": grant_type, "reason": reason, "error": error}
        if refresh_family is not None:
            details["refresh_family"] = refresh_family
        self._audit.record(TOKEN_REFUSED, subject=subject, client_id=client_id, details=details)

    def revoked(
        self,
        client_id: str,
        *,
        reason: str,
        token_type: str,
        subject: str | None = None,
        jti: str | None = None,
        refresh_family: str | None = None,
        access_tokens: int | None = None,
        error: str | None = None,
    ) -> None:
        """Tokens were revoked; ``reason`` says why (``revocation_request``, ``reuse``, ...)."""
        details: dict[str, Any] = {"reason": reason, "token_type": token_type}
        for name, value in (
            ("jti", jti),
            ("refresh_family", refresh_family),
            ("access_tokens_revoked", access_tokens),
            ("error", error),
        ):
            if value is not None:
                details[name] = value
        self._audit.record(
            AuditEvent.TOKEN_REVOKED,
            subject=subject,
            client_id=client_id,
            details=details,
        )
