"""Criminal-record certificate applications: the form, its checks, and their storage.

The applicant's identity (name, birth date, gender, ID number, addresses, phone) is never
taken from the submitted form: it is copied from the claims of the verified e-ID login,
which is the point of applying with the e-ID. The citizen supplies only what the e-ID
does not know (certificate type, purpose, copies, delivery …). Applications are stored
in the portal's own database under the citizen's pairwise subject.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from portals.common.identity import CitizenIdentity
from portals.common.references import get_for, insert_with_fresh_reference, list_for

# Law on Judicial Records 2009, Art. 48: the certificate is issued within 10 days.
PROCESSING_DAYS = 10
MAX_COPIES = 10
DELIVERY_METHODS = ("counter", "post")
STATUS_RECEIVED = "received"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class PublicServicesBase(SQLModel, registry=registry()):
    """The portal's own tables: a registry of their own, apart from any other package's."""


class CriminalRecordApplication(PublicServicesBase, table=True):
    __tablename__ = "criminal_record_application"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    subject: str = Field(index=True, max_length=256)
    full_name: str
    birth_date: str
    gender: str
    national_id: str = Field(max_length=12)
    permanent_address: str
    current_address: str
    phone_number: str
    email: str
    certificate_type: int
    purpose: str
    copies: int
    father_name: str
    mother_name: str
    ban_statement_requested: bool
    delivery_method: str
    delivery_address: str
    status: str
    level_at_submission: int
    submitted_at: dt.datetime
    expected_by: dt.date


@dataclass
class ApplicationForm:
    """What the citizen typed, kept as text so a rejected form shows it back unchanged."""

    certificate_type: str = "1"
    purpose: str = ""
    copies: str = "1"
    father_name: str = ""
    mother_name: str = ""
    ban_statement_requested: bool = False
    delivery_method: str = "counter"
    delivery_address: str = ""
    email: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field → message key

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> ApplicationForm:
        return cls(
            certificate_type=form.get("certificate_type", "").strip(),
            purpose=" ".join(form.get("purpose", "").split()),
            copies=form.get("copies", "").strip(),
            father_name=" ".join(form.get("father_name", "").split()),
            mother_name=" ".join(form.get("mother_name", "").split()),
            ban_statement_requested=form.get("ban_statement_requested") == "yes",
            delivery_method=form.get("delivery_method", "").strip(),
            delivery_address=" ".join(form.get("delivery_address", "").split()),
            email=form.get("email", "").strip(),
        )

    def validate(self) -> bool:
        """Fill ``errors``; True when the form can be submitted."""
        errors: dict[str, str] = {}
        if self.certificate_type not in ("1", "2"):
            errors["certificate_type"] = "form.error.certificate_type"
        if not 3 <= len(self.purpose) <= 200:
            errors["purpose"] = "form.error.purpose"
        if not self.copies.isdigit() or not 1 <= int(self.copies) <= MAX_COPIES:
            errors["copies"] = "form.error.copies"
        if self.certificate_type == "2":
            # Certificate no. 2 states the parents' names (Law on Judicial Records, Art. 43).
            for name in ("father_name", "mother_name"):
                if not 2 <= len(getattr(self, name)) <= 100:
                    errors[name] = "form.error.parent_name"
        if self.delivery_method not in DELIVERY_METHODS:
            errors["delivery_method"] = "form.error.delivery_method"
        elif self.delivery_method == "post" and not 10 <= len(self.delivery_address) <= 300:
            errors["delivery_address"] = "form.error.delivery_address"
        if self.email and (len(self.email) > 254 or not _EMAIL.match(self.email)):
            errors["email"] = "form.error.email"
        self.errors = errors
        return not errors


class MissingIdentityClaimsError(Exception):
    """The e-ID login did not release a claim the application needs (name, birth date,
    ID number)."""


class ApplicationStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    def create_schema(self) -> None:
        PublicServicesBase.metadata.create_all(self._engine)

    def submit(self, identity: CitizenIdentity, form: ApplicationForm) -> CriminalRecordApplication:
        """Store a validated form with the identity from the e-ID; the new application."""
        if not (identity.name and identity.birthdate and identity.national_id):
            raise MissingIdentityClaimsError()
        submitted_at = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        type_one = form.certificate_type == "1"
        fields = dict(
            subject=identity.subject,
            full_name=identity.name,
            birth_date=identity.birthdate,
            gender=identity.gender,
            national_id=identity.national_id,
            permanent_address=identity.permanent_address,
            current_address=identity.current_address,
            phone_number=identity.phone_number,
            email=form.email,
            certificate_type=int(form.certificate_type),
            purpose=form.purpose,
            copies=int(form.copies),
            father_name="" if type_one else form.father_name,
            mother_name="" if type_one else form.mother_name,
            ban_statement_requested=type_one and form.ban_statement_requested,
            delivery_method=form.delivery_method,
            delivery_address=form.delivery_address if form.delivery_method == "post" else "",
            status=STATUS_RECEIVED,
            level_at_submission=identity.level,
            submitted_at=submitted_at,
            expected_by=submitted_at.date() + dt.timedelta(days=PROCESSING_DAYS),
        )
        return insert_with_fresh_reference(
            self._engine,
            lambda: CriminalRecordApplication(reference=_new_reference(submitted_at), **fields),
        )

    def list_for(self, subject: str) -> list[CriminalRecordApplication]:
        return list_for(self._engine, CriminalRecordApplication, subject)

    def get_for(self, subject: str, reference: str) -> CriminalRecordApplication | None:
        """The application ``reference`` if it is this citizen's; None otherwise (another
        citizen's reference looks exactly like an unknown one)."""
        return get_for(self._engine, CriminalRecordApplication, subject, reference)


def _new_reference(submitted_at: dt.datetime) -> str:
    """``LLTP-20250314-3F9A1C``: the day and 24 random bits, unguessable across citizens."""
    return f"LLTP-{submitted_at:%Y%m%d}-{secrets.token_hex(3).upper()}"
