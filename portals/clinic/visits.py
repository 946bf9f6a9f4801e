"""Visits to the demo clinic, in the clinic's own database.

A check-in creates a visit with the day's next queue number for its department. The
patient is the clinic's pairwise subject for the citizen; the name and birth date are
copied from the e-ID claims at check-in so the staff can call the patient. ``channel``
says how the patient checked in ("self": logged in with the e-ID on the clinic's site).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, UniqueConstraint, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from portals.common.identity import CitizenIdentity

DEPARTMENTS = ("internal", "paediatrics", "ent", "dental", "ophthalmology")
CHANNEL_SELF = "self"
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
        if department not in DEPARTMENTS:
            raise ValueError(f"unknown department {department!r}")
        checked_in_at = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        # Queue numbers restart every day, the clinic's day being Vietnam's calendar day.
        visit_day = checked_in_at.astimezone(VIETNAM_TIME).date()
        attempts_left = CHECK_IN_ATTEMPTS
        while True:
            try:
                return self._insert_next(
                    identity, department, reason, uses_health_insurance, checked_in_at, visit_day
                )
            except IntegrityError:
                # Another check-in took this queue number first: take the next one.
                attempts_left -= 1
                if not attempts_left:
                    raise

    def _insert_next(
        self,
        identity: CitizenIdentity,
        department: str,
        reason: str,
        uses_health_insurance: bool,
        checked_in_at: dt.datetime,
        visit_day: dt.date,
    ) -> Visit:
        with Session(self._engine, expire_on_commit=False) as session:
            already = session.exec(
                select(func.count())
                .select_from(Visit)
                .where(Visit.visit_day == visit_day, Visit.department == department)
            ).one()
            visit = Visit(
                subject=identity.subject,
                patient_name=identity.name,
                birth_date=identity.birthdate,
                department=department,
                reason=reason,
                uses_health_insurance=uses_health_insurance,
                visit_day=visit_day,
                queue_number=already + 1,
                channel=CHANNEL_SELF,
                status=STATUS_CHECKED_IN,
                checked_in_at=checked_in_at,
            )
            session.add(visit)
            session.commit()
        return visit

    def visits_of(self, subject: str) -> list[Visit]:
        with Session(self._engine) as session:
            query = (
                select(Visit)
                .where(Visit.subject == subject)
                .order_by(col(Visit.checked_in_at).desc())
            )
            return list(session.exec(query))
