"""The e-ID account table and the value objects the account service hands out.

``Account`` is the only identity table this package owns. It holds the password hash and
the encrypted TOTP secret, so it never leaves the service layer as-is: routes and the
OIDC provider get ``AuthenticatedAccount`` or ``AccountSummary``, which carry neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from identity_service.db import IdentityBase


class AccountLevel(IntEnum):
    """Levels of assurance (DOMAIN.md §4): 1 = password, 2 = password + second factor."""

    LEVEL1 = 1
    LEVEL2 = 2


class AccountStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"  # locked by an authority or at the citizen's request (Decree 59 Art. 19)
    SUSPENDED = "suspended"


class Account(IdentityBase, table=True):
    __tablename__ = "account"

    personal_id_number: str = Field(primary_key=True, max_length=12)
    password_hash: str
    level: int = Field(default=AccountLevel.LEVEL1)
    # AES-GCM ciphertext (see second_factor.SecretBox); None until level 2.
    totp_secret: str | None = None
    status: str = Field(default=AccountStatus.ACTIVE, max_length=16)
    load_test: bool = Field(default=False)
    created_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    password_changed_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """What may be shown about an account: no hash, no secret."""

    personal_id_number: str
    level: int
    status: str
    has_totp: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, account: Account) -> AccountSummary:
        return cls(
            personal_id_number=account.personal_id_number,
            level=account.level,
            status=account.status,
            has_totp=account.totp_secret is not None,
            created_at=account.created_at,
        )


@dataclass(frozen=True, slots=True)
class AuthenticatedAccount:
    """A citizen whose password was just verified.

    ``second_factor_required``: the account is level 2, so a level-2 login must follow
    with ``AccountService.verify_totp``; a level-1 login may stop here.
    """

    personal_id_number: str
    level: int
    has_totp: bool

    @property
    def second_factor_required(self) -> bool:
        return self.level >= AccountLevel.LEVEL2

    @property
    def second_factor_available(self) -> bool:
        return self.has_totp


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A freshly bound authenticator: show once (QR code), never store in the clear."""

    secret: str
    provisioning_uri: str


@dataclass(frozen=True, slots=True)
class DemoCredential:
    personal_id_number: str
    password: str
    level: int
    totp_secret: str | None
    full_name: str

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "personal_id_number": self.personal_id_number,
            "password": self.password,
            "level": self.level,
        }
        if self.totp_secret is not None:
            data["totp_secret"] = self.totp_secret
        data["full_name"] = self.full_name
        return data
