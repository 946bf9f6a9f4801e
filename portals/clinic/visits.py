"""Visits to the demo clinic, in the clinic's own database.

A check-in creates a visit with the day's next queue number for its department.
``channel`` says how the patient checked in:

* ``self``: logged in with the e-ID on the clinic's site; the visit belongs to the
  clinic's pairwise subject for the citizen, with the name and birth date copied from
  the e-ID claims so the staff can call the patient;
* ``front_desk``: staff typed the patient's ID number, name, birth date and gender and
  the e-KYC API confirmed them; the visit has no subject (the patient did not log in)
  and a ``FrontDeskCheckIn`` row keeps the verified ID number with the signed answer.
  When the patient later logs in, the ``national_id`` claim links those visits to them.

``FrontDeskCheckIn`` is a table of its own, so clinic databases made before the front
desk existed gain it without a migration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, UniqueConstraint, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from portals.common.identity import CitizenIdentity
from portals.common.kyc_results import KycResult

DEPARTMENTS = ("internal", "paediatrics", "ent", "dental", "ophthalmology")
CHANNEL_SELF = "self"
CHANNEL_FRONT_DESK = "front_desk"
STATUS_CHECKED_IN = "checked_in"
CHECK_IN_ATTEMPTS = 5
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7))


class ClinicBase(SQLModel, registry=registry()):
    """The clinic's own tables, in a registry of their own."""


class Visit(ClinicBase, table=True):
    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("visit_day", "department", "queue_number"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=256)
    patient_name: str
    birth_date: str
    department: str
    reason: str
    uses_health_insurance: bool
    visit_day: dt.date = Field(index=True)
    queue_number: int
    channel: str
    status: str
    checked_in_at: dt.datetime


class FrontDeskCheckIn(ClinicBase, table=True):
    """The e-KYC evidence of a front-desk check-in: who was verified, and the answer."""

    __tablename__ = "front_desk_check_in"

    visit_id: int = Field(foreign_key="visit.id", primary_key=True)
    national_id: str = Field(index=True, max_length=12)
    kyc_transaction_id: str
    kyc_level: int
    kyc_result_jws: str
    verified_at: dt.datetime


@dataclass(frozen=True, slots=True)
class VerifiedPatient:
    """A patient whose ID number, name and birth date the e-KYC API confirmed."""

    national_id: str
    full_name: str
    birth_date: str
    evidence: KycResult


class VisitBook:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    def create_schema(self) -> None:
        ClinicBase.metadata.create_all(self._engine)

    def check_in(
        self,
        identity: CitizenIdentity,
        *,
        department: str,
        reason: str,
        uses_health_insurance: bool,
    ) -> Visit:
        """The logged-in patient checks themselves in."""
        patient = _Patient(identity.subject, identity.name, identity.birthdate, CHANNEL_SELF)
        return self._check_in(patient, department, reason, uses_health_insurance, None)

    def check_in_verified(
        self,
        patient: VerifiedPatient,
        *,
        department: str,
        reason: str,
        uses_health_insurance: bool,
    ) -> Visit:
        """The front desk checks in a patient the e-KYC API confirmed."""
        if not patient.evidence.is_match:
            raise ValueError("only a patient the register confirmed is checked in")
        visit_patient = _Patient("", patient.full_name, patient.birth_date, CHANNEL_FRONT_DESK)
        return self._check_in(visit_patient, department, reason, uses_health_insurance, patient)

    def visits_of(self, subject: str, national_id: str = "") -> list[Visit]:
        """The patient's visits: their own check-ins, and (given their ID number) the
        front desk's verified check-ins of that number."""
        condition = Visit.subject == subject
        if national_id:
            verified = select(FrontDeskCheckIn.visit_id).where(
                FrontDeskCheckIn.national_id == national_id
            )
            condition = or_(condition, col(Visit.id).in_(verified))
        with Session(self._engine) as session:
            query = select(Visit).where(condition).order_by(col(Visit.checked_in_at).desc())
            return list(session.exec(query))

    def _check_in(
        self,
        patient: _Patient,
        department: str,
        reason: str,
        uses_health_insurance: bool,
        verified: VerifiedPatient | None,
    ) -> Visit:
        if department not in DEPARTMENTS:
            raise ValueError(f"unknown department {department!r}")
        checked_in_at = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        # Queue numbers restart every day, the clinic's day being Vietnam's calendar day.
        visit_day = checked_in_at.astimezone(VIETNAM_TIME).date()
        attempts_left = CHECK_IN_ATTEMPTS
        while True:
            try:
                return self._insert_next(
                    patient,
                    department,
                    reason,
                    uses_health_insurance,
                    checked_in_at,
                    visit_day,
                    verified,
                )
            except IntegrityError:
                # Another check-in took this queue number first: take the next one.
                attempts_left -= 1
                if not attempts_left:
                    raise

    def _insert_next(
        self,
        patient: _Patient,
        department: str,
        reason: str,
        uses_health_insurance: bool,
        checked_in_at: dt.datetime,
        visit_day: dt.date,
        verified: VerifiedPatient | None,
    ) -> Visit:
        with Session(self._engine, expire_on_commit=False) as session:
            already = session.exec(
                select(func.count())
                .select_from(Visit)
                .where(Visit.visit_day == visit_day, Visit.department == department)
            ).one()
            visit = Visit(
                subject=patient.subject,
                patient_name=patient.name,
                birth_date=patient.birth_date,
                department=department,
                reason=reason,
                uses_health_insurance=uses_health_insurance,
                visit_day=visit_day,
                queue_number=already + 1,
                channel=patient.channel,
                status=STATUS_CHECKED_IN,
                checked_in_at=checked_in_at,
            )
            session.add(visit)
            if verified is not None:
                session.flush()  # the visit's id, for its evidence row
                assert visit.id is not None
                session.add(
                    FrontDeskCheckIn(
                        visit_id=visit.id,
                        national_id=verified.national_id,
                        kyc_transaction_id=verified.evidence.transaction_id,
                        kyc_level=verified.evidence.level,
                        kyc_result_jws=verified.evidence.result_jws,
                        verified_at=dt.datetime.fromtimestamp(verified.evidence.issued_at, dt.UTC),
                    )
                )
            session.commit()
        return visit


@dataclass(frozen=True, slots=True)
class _Patient:
    subject: str
    name: str
    birth_date: str
    channel: str
