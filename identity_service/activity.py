"""Recording what happens to citizens' e-IDs: one audit entry and the metrics per event.

Owns the shape of the login, step-up, consent and data-release entries of the audit log
(``identity_service.audit``) and which counters of ``identity_service.metrics`` each one
moves, so that routes report an outcome in one call and every route reports it the same
way. The citizen's own account page reads these entries back as their history.

What goes into an entry: the subject (the audit log stores only a keyed hash and a masked
form of the ID number), the portal, the level, and details that are never secret: the
outcome, the factor, the client IP, scope and claim *names* — never a claim's value, a
password, a code or a token. A typed ID number that is not a valid number is not a
subject at all (it may be anything, even someone's password typed in the wrong field).

Attempts refused by the per-IP rate limit are counted but not audited: they were not
attempts on any account, and auditing them would let one client flood the log.
"""

from __future__ import annotations

from collections.abc import Iterable

from identity_service.accounts.errors import (
    AccountLockedError,
    AuthenticationError,
    RateLimitedError,
)
from identity_service.accounts.registration import canonical_id_number
from identity_service.audit import AuditEvent
from identity_service.audit_writer import AuditWriter
from identity_service.metrics import Metrics
from population_db.identifiers import InvalidIdNumberError

PASSWORD = "password"
TOTP = "totp"


def login_failed(
    audit: AuditWriter,
    metrics: Metrics,
    error: AuthenticationError,
    *,
    typed_id_number: str,
    client_id: str,
    factor: str,
    client_ip: str,
    step_up: bool = False,
) -> None:
    """A password or code was refused (wrong, locked out, or rate limited)."""
    level = 2 if factor == TOTP else 1
    if isinstance(error, RateLimitedError):
        metrics.login("rate_limited", level)
        return
    subject = _valid_number(typed_id_number)
    details: dict[str, object] = {"factor": factor, "ip": client_ip}
    if subject is None:
        details["id_number"] = "malformed"
    if isinstance(error, AccountLockedError):
        metrics.login("locked", level)
        metrics.lockout()
        details["retry_after"] = error.retry_after
        event = AuditEvent.LOGIN_LOCKED
    else:
        metrics.login("stepup_failure" if step_up else "failure", level)
        event = AuditEvent.LOGIN_FAILURE
    if step_up:
        details["step_up"] = True
    audit.record(event, subject=subject, client_id=client_id, level=level, details=details)


def login_succeeded(
    audit: AuditWriter,
    metrics: Metrics,
    *,
    personal_id_number: str,
    client_id: str,
    level: int,
    client_ip: str,
) -> None:
    """A full login ended with a session at ``level``."""
    metrics.login("success", level)
    audit.record(
        AuditEvent.LOGIN_SUCCESS,
        subject=personal_id_number,
        client_id=client_id,
        level=level,
        details={"factor": TOTP if level >= 2 else PASSWORD, "ip": client_ip},
    )


def stepped_up(
    audit: AuditWriter,
    metrics: Metrics,
    *,
    personal_id_number: str,
    client_id: str,
    level: int,
    client_ip: str,
) -> None:
    """An existing session was raised to ``level`` with the second factor."""
    metrics.login("success", level)
    audit.record(
        AuditEvent.STEPUP,
        subject=personal_id_number,
        client_id=client_id,
        level=level,
        details={"factor": TOTP, "ip": client_ip},
    )


def consent_granted(
    audit: AuditWriter, *, personal_id_number: str, client_id: str, scopes: Iterable[str]
) -> None:
    audit.record(
        AuditEvent.CONSENT_GRANTED,
        subject=personal_id_number,
        client_id=client_id,
        details={"scopes": sorted(scopes)},
    )


def consent_withdrawn(
    audit: AuditWriter,
    *,
    personal_id_number: str,
    client_id: str,
    scopes: Iterable[str],
    access_tokens_revoked: int,
) -> None:
    """The citizen withdrew consent; the portal's refresh-token grants ended with it, and
    ``access_tokens_revoked`` live access tokens issued with them were revoked."""
    details: dict[str, object] = {
        "scopes": sorted(scopes),
        "access_tokens_revoked": access_tokens_revoked,
    }
    audit.record(
        AuditEvent.CONSENT_WITHDRAWN,
        subject=personal_id_number,
        client_id=client_id,
        details=details,
    )


def data_released(
    audit: AuditWriter,
    *,
    personal_id_number: str,
    client_id: str,
    claims: Iterable[str],
    level: int | None,
    channel: str,
) -> None:
    """The named claims about the citizen went to the portal (``channel``: userinfo, ...)."""
    audit.record(
        AuditEvent.DATA_RELEASED,
        subject=personal_id_number,
        client_id=client_id,
        level=level,
        details={"claims": sorted(claims), "channel": channel},
    )


def _valid_number(typed: str) -> str | None:
    try:
        return canonical_id_number(typed)
    except InvalidIdNumberError:
        return None
