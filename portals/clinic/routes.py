"""Pages of the demo clinic: home, and the patient's visits with a self check-in.

Patients log in at level 1. Checking in needs only that login: the clinic learns the
name and birth date from the e-ID and gives a queue number. The list also holds the
visits the front desk checked in under the patient's ID number (``front_desk``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from portals.clinic.visits import DEPARTMENTS, VisitBook
from portals.common.web import Portal, PortalDep, Visitor, VisitorDep

router = APIRouter()
VISITS_PATH = "/visits"
FormText = Annotated[str, Form(max_length=1000)]


def get_visit_book(request: Request) -> VisitBook:
    return request.app.state.visit_book


VisitBookDep = Annotated[VisitBook, Depends(get_visit_book)]


@router.get("/", summary="Home")
def home(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    return portal.render(request, visitor, "home.html")


@router.get(VISITS_PATH, summary="The patient's visits and the check-in form")
def visits(
    request: Request, portal: PortalDep, visitor: VisitorDep, book: VisitBookDep
) -> Response:
    portal.require_identity(request, visitor)
    return _visits_page(request, portal, visitor, book)


@router.post(f"{VISITS_PATH}/check-in", summary="Check in for today")
def check_in(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    book: VisitBookDep,
    csrf_token: FormText = "",
    department: FormText = "",
    reason: FormText = "",
    health_insurance: FormText = "",
) -> Response:
    identity = portal.require_identity(request, visitor)
    portal.check_csrf(visitor, csrf_token)
    reason = " ".join(reason.split())
    errors = []
    if department not in DEPARTMENTS:
        errors.append("check_in.error.department")
    if not 3 <= len(reason) <= 300:
        errors.append("check_in.error.reason")
    if errors:
        return _visits_page(
            request,
            portal,
            visitor,
            book,
            errors=errors,
            form={"department": department, "reason": reason},
            status_code=400,
        )
    visit = book.check_in(
        identity,
        department=department,
        reason=reason,
        uses_health_insurance=health_insurance == "yes",
    )
    return RedirectResponse(f"{VISITS_PATH}?checked_in={visit.id}", status_code=303)


def _visits_page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    book: VisitBook,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    assert visitor.identity is not None
    # The ID number (national_id scope) also finds the visits the front desk verified.
    patient_visits = book.visits_of(visitor.identity.subject, visitor.identity.national_id)
    checked_in = request.query_params.get("checked_in")
    just_checked_in = next((visit for visit in patient_visits if str(visit.id) == checked_in), None)
    return portal.render(
        request,
        visitor,
        "visits.html",
        {
            "visits": patient_visits,
            "just_checked_in": just_checked_in,
            "departments": DEPARTMENTS,
            "errors": errors or [],
            "form": form or {"department": DEPARTMENTS[0], "reason": ""},
        },
        status_code=status_code,
    )
