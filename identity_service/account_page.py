"""The citizen's own account at the IdP: what the account page shows and what it changes.

Owns the page's view of one citizen (level, the portals they consented to, their history
from the audit log) and its actions: withdrawing consent (which also ends the portal's
refresh-token grants and revokes the access tokens issued with them), changing the
password (the current one first, then the password policy, argon2id; the citizen's
other SSO sessions end), and re-binding the
second factor (a new TOTP secret, bound only once the citizen proves their authenticator
shows its codes; allowed only within ``FRESH_STEP_UP_SECONDS`` of entering a code).

No HTTP here: the routes (``api/routes/account.py``) log the citizen in through the
provider's own login and step-up pages (an interaction of the internal ``natid-account``
pseudo-client, which is never registered, so nobody can obtain tokens for it) and render.
Every action is audited under the citizen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity_service import activity
from identity_service.accounts.errors import AuthenticationError
from identity_service.accounts.models import AccountSummary
from identity_service.accounts.policy import PasswordPolicy
from identity_service.accounts.second_factor import (
    SealedSecretError,
    SecretBox,
    matching_time_step,
    new_totp_secret,
    provisioning_uri,
)
from identity_service.accounts.service import AccountService
from identity_service.audit import AuditEntry, AuditEvent, AuditLog
from identity_service.audit_writer import AuditWriter
from identity_service.metrics import Metrics
from identity_service.oidc.consent import ConsentRecord
from identity_service.oidc.revocation import TokenRevocation
from identity_service.oidc.sessions import SsoSession, SsoSessions
from identity_service.state import StateStore
from population_db.identifiers import mask
from population_db.registry import PopulationRegistry

ACCOUNT_CLIENT_ID = "natid-account"
FRESH_STEP_UP_SECONDS = 300
PENDING_SECRET_TTL = 600
HISTORY_LIMIT = 50
RELEASE_EVENTS = (AuditEvent.DATA_RELEASED, AuditEvent.KYC_VERIFY)
SIGN_IN_EVENTS = (
    AuditEvent.LOGIN_SUCCESS,
    AuditEvent.LOGIN_FAILURE,
    AuditEvent.LOGIN_LOCKED,
    AuditEvent.STEPUP,
)
PASSWORD_CHANGED = "account.password_changed"
SECOND_FACTOR_REBOUND = "account.second_factor_rebound"
_CSRF_LABEL = b"natid/account-page-csrf/v1"
_PENDING_PREFIX = "account:totp-pending:"


class AccountPageError(Exception):
    """An action was refused; ``reason`` keys the page's message."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Consent:
    client_id: str
    scopes: tuple[str, ...]
    granted_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AccountView:
    full_name: str | None
    masked_id_number: str
    account: AccountSummary
    session_level: int
    consents: list[Consent]
    releases: list[AuditEntry]  # data released and e-KYC checks, newest first
    sign_ins: list[AuditEntry]  # logins, failures, lockouts, step-ups, newest first


@dataclass(frozen=True, slots=True)
class PendingSecondFactor:
    """A new authenticator secret waiting for its first code (shown once, as a QR code)."""

    secret: str
    provisioning_uri: str


class AccountPageService:
    def __init__(
        self,
        *,
        engine: Engine,
        accounts: AccountService,
        registry: PopulationRegistry,
        audit: AuditLog,
        audit_writer: AuditWriter,
        metrics: Metrics,
        revocation: TokenRevocation,
        state: StateStore,
        sessions: SsoSessions,
        server_secret: bytes,
        clock: Callable[[], float] = time.time,
        policy: PasswordPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._registry = registry
        self._audit = audit
        self._audit_writer = audit_writer
        self._metrics = metrics
        self._revocation = revocation
        self._state = state
        self._sessions = sessions
        self._box = SecretBox(server_secret)
        self._csrf_key = hmac.new(server_secret, _CSRF_LABEL, hashlib.sha256).digest()
        self._clock = clock
        self._policy = policy or PasswordPolicy.from_seeds()

    # -- reading --------------------------------------------------------------------------

    def view(self, session: SsoSession) -> AccountView | None:
        """What the page shows; None if the account no longer exists."""
        number = session.personal_id_number
        account = self._accounts.summary(number)
        if account is None:
            return None
        record = self._registry.get(number)
        return AccountView(
            full_name=None if record is None else record.full_name,
            masked_id_number=mask(number),
            account=account,
            session_level=session.level,
            consents=self.consents(number),
            releases=self._audit.history(number, events=RELEASE_EVENTS, limit=HISTORY_LIMIT),
            sign_ins=self._audit.history(number, events=SIGN_IN_EVENTS, limit=HISTORY_LIMIT),
        )

    def consents(self, personal_id_number: str) -> list[Consent]:
        with Session(self._engine) as session:
            records = session.exec(
                select(ConsentRecord)
                .where(ConsentRecord.personal_id_number == personal_id_number)
                .order_by(col(ConsentRecord.updated_at).desc())
            ).all()
        return [
            Consent(
                record.client_id,
                tuple(record.scopes),
                _as_utc(record.granted_at),
                _as_utc(record.updated_at),
            )
            for record in records
        ]

    def csrf_token(self, session_cookie: str) -> str:
        """The forms' token: a MAC of the (secret, HttpOnly) session cookie."""
        return hmac.new(self._csrf_key, session_cookie.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_matches(self, session_cookie: str, presented: str) -> bool:
        expected = self.csrf_token(session_cookie).encode("ascii")
        return bool(presented) and hmac.compare_digest(expected, presented.encode("utf-8"))

    def is_freshly_stepped_up(self, session: SsoSession) -> bool:
        """Level 2, reached within the last few minutes (a TOTP code entered just now)."""
        return session.level >= 2 and self._clock() - session.auth_time <= FRESH_STEP_UP_SECONDS

    # -- consent ----------------------------------------------------------------------------

    def withdraw_consent(self, session: SsoSession, client_id: str) -> None:
        """Forget the consent and end the portal's refresh-token grants for this citizen."""
        number = session.personal_id_number
        with Session(self._engine) as db:
            record = db.get(ConsentRecord, (number, client_id))
            if record is None:
                raise AccountPageError("no_consent")
            scopes = list(record.scopes)
            db.delete(record)
            db.commit()
        # Ends the refresh grants and revokes their access tokens (audited as token.revoked).
        revoked = self._revocation.revoke_grants_of(number, client_id)
        activity.consent_withdrawn(
            self._audit_writer,
            personal_id_number=number,
            client_id=client_id,
            scopes=scopes,
            access_tokens_revoked=revoked,
        )

    # -- password ---------------------------------------------------------------------------

    def change_password(
        self,
        session: SsoSession,
        *,
        current_password: str,
        new_password: str,
        confirmation: str,
        client_ip: str,
    ) -> None:
        """Raises ``AuthenticationError`` (wrong current password, throttled),
        ``PasswordPolicyError`` or ``AccountPageError("password_mismatch")``."""
        number = session.personal_id_number
        if new_password != confirmation:
            raise AccountPageError("password_mismatch")
        try:
            self._accounts.authenticate(number, current_password, client_ip)
        except AuthenticationError as error:
            activity.login_failed(
                self._audit_writer,
                self._metrics,
                error,
                typed_id_number=number,
                client_id=ACCOUNT_CLIENT_ID,
                factor=activity.PASSWORD,
                client_ip=client_ip,
            )
            raise
        record = self._registry.get(number)
        normalized = self._policy.check(
            new_password,
            personal_id_number=number,
            birth_date=None if record is None else record.birth_date,
        )
        self._accounts.set_password(number, normalized)
        # Whoever else was logged in with the old password is logged out (this browser,
        # which just proved it, stays).
        self._sessions.end_others(session)
        self._audit_writer.record(
            PASSWORD_CHANGED,
            subject=number,
            client_id=ACCOUNT_CLIENT_ID,
            level=session.level,
            details={"ip": client_ip},
        )

    # -- second factor -------------------------------------------------------------------------

    def start_rebinding(self, session: SsoSession) -> PendingSecondFactor:
        """A new secret for this session to confirm (replacing any earlier pending one)."""
        self._require_rebinding(session)
        secret = new_totp_secret()
        sealed = self._box.seal(secret, session.sid)
        self._state.put(_PENDING_PREFIX + session.sid, {"sealed": sealed}, PENDING_SECRET_TTL)
        return self._pending_view(session, secret)

    def pending_rebinding(self, session: SsoSession) -> PendingSecondFactor | None:
        data = self._state.get(_PENDING_PREFIX + session.sid)
        if data is None:
            return None
        try:
            secret = self._box.open(str(data["sealed"]), session.sid)
        except (SealedSecretError, KeyError):
            return None
        return self._pending_view(session, secret)

    def confirm_rebinding(self, session: SsoSession, code: str) -> None:
        """Bind the pending secret if ``code`` is one of its current codes."""
        self._require_rebinding(session)
        pending = self.pending_rebinding(session)
        if pending is None:
            raise AccountPageError("rebind_expired")
        typed = "".join(code.split())[:16]
        if matching_time_step(pending.secret, typed, self._clock()) is None:
            raise AccountPageError("rebind_wrong_code")
        self._accounts.bind_totp(session.personal_id_number, pending.secret)
        self._state.delete(_PENDING_PREFIX + session.sid)
        self._audit_writer.record(
            SECOND_FACTOR_REBOUND,
            subject=session.personal_id_number,
            client_id=ACCOUNT_CLIENT_ID,
            level=session.level,
        )

    def _require_rebinding(self, session: SsoSession) -> None:
        account = self._accounts.summary(session.personal_id_number)
        if account is None or account.level < 2 or not account.has_totp:
            raise AccountPageError("rebind_level1")
        if not self.is_freshly_stepped_up(session):
            raise AccountPageError("rebind_step_up")

    def _pending_view(self, session: SsoSession, secret: str) -> PendingSecondFactor:
        return PendingSecondFactor(
            secret=secret,
            provisioning_uri=provisioning_uri(secret, mask(session.personal_id_number)),
        )


def _as_utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
