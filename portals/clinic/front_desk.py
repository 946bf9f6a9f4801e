"""The clinic's front desk: staff check a patient in after an e-KYC check of their details.

Staff type the patient's ID number, full name, birth date and gender (from the chip ID
card, which doubles as the health-insurance card); the clinic's back-end asks natid's
e-KYC API whether they match the national population register. Only a ``match`` records
a visit (``VisitBook.check_in_verified``, with the signed answer as evidence); a
``no_match`` (which is also what an unknown number gets) or any failure records nothing
and says so.

The page stands for a staff workstation: it is unlocked with the clinic's front-desk
passcode (``ClinicSettings.front_desk_passcode``, a shared demo passcode in place of a
staff login, which is out of scope). Unlocking starts a fresh session marked as the
front desk's, as logging in does, so a session cookie planted beforehand gains nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from portals.clinic.visits import DEPARTMENTS, VerifiedPatient, VisitBook
from portals.common.kyc_client import KycApplicant, KycClient, KycError, KycResult
from portals.common.web import Portal, PortalDep, Visitor, VisitorDep

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/front-desk", tags=["front desk"])

FRONT_DESK_PATH = "/front-desk"
FRONT_DESK_KEY = "front_desk"
GENDERS = ("male", "female")
FormText = Annotated[str, Form(max_length=300)]
_ID_SEPARATORS = re.compile(r"[\s.\-]")
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
EARLIEST_BIRTH_YEAR = 1900


def get_visit_book(request: Request) -> VisitBook:
    return request.app.state.visit_book


def get_kyc(request: Request) -> KycClient:
    return request.app.state.kyc


VisitBookDep = Annotated[VisitBook, Depends(get_visit_book)]
KycDep = Annotated[KycClient, Depends(get_kyc)]


@dataclass(frozen=True, slots=True)
class PatientForm:
    national_id: str
    full_name: str
    birth_date: str
    gender: str
    department: str
    reason: str
    uses_health_insurance: bool

    def as_fields(self) -> dict[str, Any]:
        return {
            "national_id": self.national_id,
            "full_name": self.full_name,
            "birth_date": self.birth_date,
            "gender": self.gender,
            "department": self.department,
            "reason": self.reason,
        }


@router.get("", summary="The front desk (unlock, then check patients in)")
def front_desk(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    return _page(request, portal, visitor)


@router.post("/unlock", summary="Unlock the front desk with the staff passcode")
def unlock(
    request: Request, portal: PortalDep, visitor: VisitorDep, passcode: FormText = ""
) -> Response:
    expected: SecretStr = request.app.state.front_desk_passcode
    if not hmac.compare_digest(
        passcode.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        logger.warning("front desk: a wrong passcode")
        return _page(request, portal, visitor, errors=["front_desk.error.passcode"], status=403)
    session = portal.sessions.create({FRONT_DESK_KEY: True})
    if visitor.session is not None:
        portal.sessions.delete(visitor.session.token)
    response = RedirectResponse(FRONT_DESK_PATH, status_code=303)
    portal.set_session_cookie(response, session)
    return response


@router.post("/lock", summary="Leave the front desk")
def lock(portal: PortalDep, visitor: VisitorDep, csrf_token: FormText = "") -> Response:
    session = portal.check_csrf(visitor, csrf_token)
    portal.sessions.delete(session.token)
    response = RedirectResponse(FRONT_DESK_PATH, status_code=303)
    portal.clear_session_cookie(response)
    return response


@router.post("/check-in", summary="Verify the patient with the e-KYC API and check them in")
async def check_in(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    book: VisitBookDep,
    kyc: KycDep,
    csrf_token: FormText = "",
    national_id: FormText = "",
    full_name: FormText = "",
    birth_date: FormText = "",
    gender: FormText = "",
    department: FormText = "",
    reason: FormText = "",
    health_insurance: FormText = "",
) -> Response:
    if not _unlocked(visitor):
        raise HTTPException(status_code=403)
    portal.check_csrf(visitor, csrf_token)
    form, errors = _read_form(
        national_id, full_name, birth_date, gender, department, reason, health_insurance
    )
    if errors:
        return _page(request, portal, visitor, form=form, errors=errors, status=400)
    applicant = KycApplicant(form.national_id, form.full_name, form.birth_date, form.gender)
    try:
        result = await kyc.verify(applicant)
    except KycError as error:
        logger.warning("front desk: e-KYC check failed: %s (%s)", error.code, error.detail)
        return _page(request, portal, visitor, form=form, kyc_error=error, status=502)
    logger.info("front desk: e-KYC %s, transaction %s", result.result, result.transaction_id)
    if not result.is_match:
        return _page(request, portal, visitor, form=form, result=result)
    patient = VerifiedPatient(form.national_id, form.full_name, form.birth_date, result)
    visit = await run_in_threadpool(
        book.check_in_verified,
        patient,
        department=form.department,
        reason=form.reason,
        uses_health_insurance=form.uses_health_insurance,
    )
    return _page(request, portal, visitor, result=result, visit=visit)


def _unlocked(visitor: Visitor) -> bool:
    return visitor.session is not None and visitor.session.data.get(FRONT_DESK_KEY) is True


def _read_form(
    national_id: str,
    full_name: str,
    birth_date: str,
    gender: str,
    department: str,
    reason: str,
    health_insurance: str,
) -> tuple[PatientForm, list[str]]:
    form = PatientForm(
        national_id=_ID_SEPARATORS.sub("", national_id),
        full_name=" ".join(full_name.split()),
        birth_date=birth_date.strip(),
        gender=gender,
        department=department,
        reason=" ".join(reason.split()),
        uses_health_insurance=health_insurance == "yes",
    )
    errors = []
    if not _TWELVE_DIGITS.fullmatch(form.national_id):
        errors.append("front_desk.error.national_id")
    if not 1 <= len(form.full_name) <= 200:
        errors.append("front_desk.error.full_name")
    if not _plausible_birth_date(form.birth_date):
        errors.append("front_desk.error.birth_date")
    if form.gender not in GENDERS:
        errors.append("front_desk.error.gender")
    if form.department not in DEPARTMENTS:
        errors.append("check_in.error.department")
    if not 3 <= len(form.reason) <= 300:
        errors.append("check_in.error.reason")
    return form, errors


def _plausible_birth_date(text: str) -> bool:
    try:
        born = dt.date.fromisoformat(text)
    except ValueError:
        return False
    return born.year >= EARLIEST_BIRTH_YEAR and born <= dt.date.today()


def _page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    *,
    form: PatientForm | None = None,
    errors: list[str] | None = None,
    result: KycResult | None = None,
    kyc_error: KycError | None = None,
    visit: Any = None,
    status: int = 200,
) -> Response:
    fields = form.as_fields() if form and visit is None else {}
    return portal.render(
        request,
        visitor,
        "front_desk.html",
        {
            "unlocked": _unlocked(visitor),
            "departments": DEPARTMENTS,
            "genders": GENDERS,
            "form": {
                "national_id": "",
                "full_name": "",
                "birth_date": "",
                "gender": "",
                "department": DEPARTMENTS[0],
                "reason": "",
                **fields,
            },
            "errors": errors or [],
            "result": result,
            "kyc_error": kyc_error,
            "visit": visit,
        },
        status_code=status,
    )
