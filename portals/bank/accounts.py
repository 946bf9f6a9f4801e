"""Online account-opening applications of the demo bank, in the bank's own database.

The customer's identity on an application is copied from the e-ID login at level 2 (the
bank never lets a customer type it); the customer chooses only the kind of account and
accepts the terms. Each application then waits for the e-KYC check (``kyc_checks``),
which makes it ``verified`` or ``rejected``. The application is keyed by the bank's
pairwise subject for the citizen, so the bank finds a returning customer without knowing
anything the citizen did elsewhere.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from portals.common.identity import CitizenIdentity
from portals.common.references import get_for, insert_with_fresh_reference, list_for

ACCOUNT_TYPES = ("payment_vnd", "savings_vnd")
GENDERS = ("male", "female")
STATUS_RECEIVED = "received"  # applications sent before the e-KYC check existed
STATUS_KYC_PENDING = "kyc_pending"  # waiting for an answer from the register
STATUS_VERIFIED = "verified"
STATUS_REJECTED = "rejected"


class BankBase(SQLModel, registry=registry()):
    """The bank's own tables, in a registry of their own."""


class AccountApplication(BankBase, table=True):
    __tablename__ = "account_application"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    subject: str = Field(index=True, max_length=256)
    full_name: str
    birth_date: str
    national_id: str = Field(max_length=12)
    permanent_address: str
    phone_number: str
    account_type: str
    level_at_submission: int
    status: str
    submitted_at: dt.datetime


class MissingIdentityClaimsError(Exception):
    """The login did not release the name, birth date, gender or ID number the bank needs."""


class AccountApplications:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    def create_schema(self) -> None:
        BankBase.metadata.create_all(self._engine)

    def submit(self, identity: CitizenIdentity, account_type: str) -> AccountApplication:
        if account_type not in ACCOUNT_TYPES:
            raise ValueError(f"unknown account type {account_type!r}")
        if not (identity.name and identity.birthdate and identity.national_id):
            raise MissingIdentityClaimsError()
        if identity.gender not in GENDERS:
            raise MissingIdentityClaimsError()
        submitted_at = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        return insert_with_fresh_reference(
            self._engine,
            lambda: AccountApplication(
                reference=f"TK-{submitted_at:%Y%m%d}-{secrets.token_hex(4).upper()}",
                subject=identity.subject,
                full_name=identity.name,
                birth_date=identity.birthdate,
                national_id=identity.national_id,
                permanent_address=identity.permanent_address,
                phone_number=identity.phone_number,
                account_type=account_type,
                level_at_submission=identity.level,
                status=STATUS_KYC_PENDING,
                submitted_at=submitted_at,
            ),
        )

    def list_for(self, subject: str) -> list[AccountApplication]:
        return list_for(self._engine, AccountApplication, subject)

    def get_for(self, subject: str, reference: str) -> AccountApplication | None:
        return get_for(self._engine, AccountApplication, subject, reference)
