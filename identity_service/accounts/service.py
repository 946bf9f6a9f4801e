"""``AccountService``: the one entry point routes, the OIDC provider and the CLI use for
e-ID accounts — registration, password and TOTP login steps, the level-2 upgrade.

Every login failure (unknown ID number, wrong password, wrong or replayed code, an
account locked by an authority, a deceased citizen) raises the same ``LoginFailedError``;
an unknown ID number still pays one argon2 verify, and lockout counts it like any other
ID number, so neither the message, the timing nor the lockout behaviour reveals who has
an account. A deceased citizen's login is refused with that generic message too: the
death is a fact about a person, not something to disclose to whoever holds a password.
Lockout rules: see ``lockout``. All calls are synchronous (argon2 is CPU-bound; the
HTTP layer runs them in a thread pool).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from identity_service.accounts.demo import DemoAccountSpec, ensure_demo_accounts
from identity_service.accounts.errors import (
    AccountInactiveError,
    AccountLockedError,
    AccountNotFoundError,
    LoginFailedError,
    PasswordPolicyError,
    RegistrationError,
)
from identity_service.accounts.lockout import LockoutPolicy, LoginThrottle
from identity_service.accounts.models import (
    Account,
    AccountLevel,
    AccountStatus,
    AccountSummary,
    AuthenticatedAccount,
    DemoCredential,
    TotpEnrollment,
)
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.policy import PasswordPolicy, normalize_password
from identity_service.accounts.registration import (
    canonical_id_number,
    today_in_vietnam,
    verify_registrant,
)
from identity_service.accounts.second_factor import (
    SealedSecretError,
    SecretBox,
    TotpReplayGuard,
    matching_time_step,
    new_totp_secret,
    provisioning_uri,
)
from identity_service.config import IdentitySettings
from identity_service.db import read_row
from identity_service.state import StateStore
from population_db.identifiers import InvalidIdNumberError, mask
from population_db.registry import PopulationRegistry


class AccountService:
    def __init__(
        self,
        engine: Engine,
        registry: PopulationRegistry,
        state: StateStore,
        settings: IdentitySettings,
        *,
        clock: Callable[[], float] = time.time,
        passwords: PasswordHashing | None = None,
        policy: PasswordPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._registry = registry
        self._clock = clock
        self._passwords = passwords or PasswordHashing.from_settings(settings)
        self._policy = policy or PasswordPolicy.from_seeds()
        server_secret = settings.server_secret()
        self._box = SecretBox(server_secret)
        self._throttle = LoginThrottle(
            state, LockoutPolicy.from_settings(settings), key_secret=server_secret, clock=clock
        )
        self._replay = TotpReplayGuard(state)

    @property
    def registry(self) -> PopulationRegistry:
        return self._registry

    # --- reading ----------------------------------------------------------------------
    def get(self, personal_id_number: str) -> Account | None:
        number = _canonical_or_none(personal_id_number)
        if number is None:
            return None
        with Session(self._engine, expire_on_commit=False) as session:
            return session.get(Account, number)

    def summary(self, personal_id_number: str) -> AccountSummary | None:
        account = self.get(personal_id_number)
        return None if account is None else AccountSummary.of(account)

    # --- registration (level 1) ---------------------------------------------------------
    def register(
        self,
        personal_id_number: str,
        full_name: str,
        birth_date: dt.date | str,
        phone: str,
        password: str,
        client_ip: str | None = None,
    ) -> Account:
        """Create a level-1 account; ``RegistrationError`` says why not. With
        ``client_ip`` (the web form) attempts count against that IP's rate limit
        (``RateLimitedError``); the officer CLI passes none."""
        if client_ip is not None:
            self._throttle.check_rate("reg", client_ip)
        record = verify_registrant(
            self._registry,
            personal_id_number,
            full_name,
            birth_date,
            phone,
            today=today_in_vietnam(self._clock()),
        )
        number = record.personal_id_number
        if self.get(number) is not None:
            raise RegistrationError("already_registered")
        try:
            normalized = self._policy.check(
                password, personal_id_number=number, birth_date=record.birth_date
            )
        except PasswordPolicyError as error:
            raise RegistrationError(error.code, **error.values) from error
        try:
            return self.create_account(number, normalized)
        except IntegrityError as error:  # a concurrent registration won
            raise RegistrationError("already_registered") from error

    def create_account(self, personal_id_number: str, password: str) -> Account:
        """Insert a level-1 account without the population checks (demo and load-test
        provisioning; ``register`` is the citizen's path). Raises ``IntegrityError`` if
        the account exists."""
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        account = Account(
            personal_id_number=personal_id_number,
            password_hash=self._passwords.hash(normalize_password(password)),
            level=AccountLevel.LEVEL1,
            status=AccountStatus.ACTIVE,
            created_at=now,
            password_changed_at=now,
        )
        with Session(self._engine, expire_on_commit=False) as session:
            session.add(account)
            session.commit()
        return account

    # --- login steps ----------------------------------------------------------------------
    def authenticate(
        self, personal_id_number: str, password: str, client_ip: str
    ) -> AuthenticatedAccount:
        """The password step. Raises ``LoginFailedError``, ``AccountLockedError`` or
        ``RateLimitedError`` (the last two carry ``retry_after``)."""
        number, credentials, typed = self._before_password(personal_id_number, client_ip, password)
        matched = self._passwords.verify_or_dummy(
            credentials.password_hash if credentials is not None else None, typed
        )
        credentials = self._after_password(number, credentials, matched, client_ip)
        if self._passwords.needs_rehash(credentials.password_hash):
            self._store_password_hash(number, self._passwords.hash(typed))
        return credentials.authenticated(number)

    async def authenticate_async(
        self, personal_id_number: str, password: str, client_ip: str
    ) -> AuthenticatedAccount:
        """``authenticate`` for the event loop, where the databases are local files (its
        reads are a few lookups): argon2id runs in its threads while the loop goes on, and
        the rare rehash, a write, in a thread of its own."""
        number, credentials, typed = self._before_password(personal_id_number, client_ip, password)
        matched = await self._passwords.verify_or_dummy_async(
            credentials.password_hash if credentials is not None else None, typed
        )
        credentials = self._after_password(number, credentials, matched, client_ip)
        if self._passwords.needs_rehash(credentials.password_hash):
            await asyncio.to_thread(
                lambda: self._store_password_hash(number, self._passwords.hash(typed))
            )
        return credentials.authenticated(number)

    def _before_password(
        self, personal_id_number: str, client_ip: str, password: str
    ) -> tuple[str, _Credentials | None, str]:
        canonical = _canonical_or_none(personal_id_number)
        number = canonical or personal_id_number.strip()[:32]
        self._throttle.before_attempt("pwd", number, client_ip)
        credentials = self._credentials(canonical) if canonical is not None else None
        return number, credentials, normalize_password(password)

    def _after_password(
        self, number: str, credentials: _Credentials | None, matched: bool, client_ip: str
    ) -> _Credentials:
        if not matched or credentials is None or not self._may_log_in(number, credentials.status):
            self._fail("pwd", number, client_ip)
        self._throttle.record_success("pwd", number, client_ip)
        return credentials

    def _credentials(self, number: str) -> _Credentials | None:
        """What the password step reads of the account of canonical ID ``number``, in one
        plain lookup (an ORM ``get`` cost a fifth of the step outside argon2id)."""
        row = read_row(self._engine, _CREDENTIALS_SQL, {"number": number}, "account lookup")
        if row is None:
            return None
        password_hash, level, status, has_totp = row
        return _Credentials(password_hash, int(level), str(status), bool(has_totp))

    def verify_totp(self, personal_id_number: str, code: str, client_ip: str) -> None:
        """The second-factor step of a level-2 login; raises like ``authenticate``."""
        number = _canonical_or_none(personal_id_number) or personal_id_number.strip()[:32]
        self._throttle.before_attempt("otp", number, client_ip)
        account = self.get(number)
        secret = self._open_secret(account) if account is not None else None
        step = matching_time_step(secret, code, self._clock()) if secret else None
        if (
            account is None
            or step is None
            or account.status != AccountStatus.ACTIVE
            or not self._replay.accept(self._throttle.account_key(number), step)
        ):
            self._fail("otp", number, client_ip)
        self._throttle.record_success("otp", number, client_ip)

    # --- level 2 --------------------------------------------------------------------------
    def upgrade_to_level2(self, personal_id_number: str) -> TotpEnrollment:
        """Bind a new authenticator (after the simulated in-person check) and raise the
        account to level 2. Upgrading again replaces the authenticator (lost phone)."""
        account = self.get(personal_id_number)
        if account is None:
            raise AccountNotFoundError()
        if not self._may_log_in(account.personal_id_number, account.status):
            raise AccountInactiveError()
        secret = new_totp_secret()
        self.bind_totp(account.personal_id_number, secret)
        label = mask(account.personal_id_number)
        return TotpEnrollment(secret=secret, provisioning_uri=provisioning_uri(secret, label))

    def bind_totp(self, personal_id_number: str, secret: str | None) -> None:
        """Store ``secret`` sealed and set level 2; None removes it and sets level 1."""
        with Session(self._engine) as session:
            account = session.get(Account, personal_id_number)
            if account is None:
                raise AccountNotFoundError()
            if secret is None:
                account.totp_secret = None
                account.level = AccountLevel.LEVEL1
            else:
                account.totp_secret = self._box.seal(secret, personal_id_number)
                account.level = AccountLevel.LEVEL2
            session.add(account)
            session.commit()
        self._replay.forget(self._throttle.account_key(personal_id_number))

    def totp_secret(self, account: Account) -> str | None:
        """The opened TOTP secret of ``account`` (demo seeding compares it)."""
        return self._open_secret(account)

    def ensure_demo_accounts(
        self, specs: list[DemoAccountSpec] | None = None
    ) -> list[DemoCredential]:
        """Demo citizens' accounts with known credentials (idempotent); see ``demo``."""
        return ensure_demo_accounts(self, specs)

    # --- officer actions --------------------------------------------------------------------
    def set_status(self, personal_id_number: str, status: AccountStatus) -> None:
        with Session(self._engine) as session:
            account = session.get(Account, personal_id_number)
            if account is None:
                raise AccountNotFoundError()
            account.status = AccountStatus(status)
            session.add(account)
            session.commit()

    def set_password(self, personal_id_number: str, password: str) -> None:
        """Replace the password without the policy (demo seeding only)."""
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        self._store_password_hash(
            personal_id_number, self._passwords.hash(normalize_password(password)), changed_at=now
        )

    def password_matches(self, account: Account, password: str) -> bool:
        return self._passwords.verify(account.password_hash, normalize_password(password))

    # --- internals ------------------------------------------------------------------------
    def _fail(self, kind: str, number: str, client_ip: str) -> NoReturn:
        retry_after = self._throttle.record_failure(kind, number, client_ip)
        if retry_after is not None:
            raise AccountLockedError(retry_after)
        raise LoginFailedError()

    def _may_log_in(self, personal_id_number: str, status: str) -> bool:
        if status != AccountStatus.ACTIVE:
            return False
        record = self._registry.get(personal_id_number)
        return record is not None and not record.is_deceased

    def _open_secret(self, account: Account) -> str | None:
        if account.totp_secret is None:
            return None
        try:
            return self._box.open(account.totp_secret, account.personal_id_number)
        except SealedSecretError:
            return None  # e.g. the server secret changed: the code cannot be checked

    def _store_password_hash(
        self, number: str, password_hash: str, *, changed_at: dt.datetime | None = None
    ) -> None:
        with Session(self._engine) as session:
            account = session.get(Account, number)
            if account is None:
                raise AccountNotFoundError()
            account.password_hash = password_hash
            if changed_at is not None:
                account.password_changed_at = changed_at
            session.add(account)
            session.commit()


_CREDENTIALS_SQL = (
    "SELECT password_hash, level, status, totp_secret IS NOT NULL"
    " FROM account WHERE personal_id_number = :number"
)


@dataclass(frozen=True, slots=True)
class _Credentials:
    """An account as the password step needs it: no TOTP secret, no ORM instance."""

    password_hash: str
    level: int
    status: str
    has_totp: bool

    def authenticated(self, number: str) -> AuthenticatedAccount:
        return AuthenticatedAccount(
            personal_id_number=number, level=self.level, has_totp=self.has_totp
        )


def _canonical_or_none(text: str) -> str | None:
    try:
        return canonical_id_number(text)
    except InvalidIdNumberError:
        return None
