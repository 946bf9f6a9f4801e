"""Pages of the demo bank: home, opening an account (e-ID level 2), an application.

The bank's registration requires level 2 and every page that shows personal data asks
for it again, so a session can never reach those pages at level 1.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portals.bank.accounts import ACCOUNT_TYPES, AccountApplications, MissingIdentityClaimsError
from portals.common.levels import HIGHEST_LEVEL
from portals.common.web import Portal, PortalDep, Visitor, VisitorDep

router = APIRouter()
OPEN_ACCOUNT_PATH = "/open-account"
FormText = Annotated[str, Form(max_length=100)]


def get_applications(request: Request) -> AccountApplications:
    return request.app.state.account_applications


ApplicationsDep = Annotated[AccountApplications, Depends(get_applications)]


@router.get("/", summary="Home")
def home(
    request: Request, portal: PortalDep, visitor: VisitorDep, applications: ApplicationsDep
) -> Response:
    mine = applications.list_for(visitor.identity.subject) if visitor.identity else []
    return portal.render(request, visitor, "home.html", {"applications": mine})


@router.get(OPEN_ACCOUNT_PATH, summary="The verified identity and the account form")
def open_account_form(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    portal.require_identity(request, visitor, HIGHEST_LEVEL)
    return _form_page(request, portal, visitor, account_type=ACCOUNT_TYPES[0])


@router.post(OPEN_ACCOUNT_PATH, summary="Send the account application")
def open_account(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    applications: ApplicationsDep,
    csrf_token: FormText = "",
    account_type: FormText = "",
    terms: FormText = "",
) -> Response:
    identity = portal.require_identity(request, visitor, HIGHEST_LEVEL)
    portal.check_csrf(visitor, csrf_token)
    errors = []
    if account_type not in ACCOUNT_TYPES:
        errors.append("open.error.account_type")
    if terms != "accepted":
        errors.append("open.error.terms")
    if errors:
        return _form_page(
            request, portal, visitor, account_type=account_type, errors=errors, status_code=400
        )
    try:
        application = applications.submit(identity, account_type)
    except MissingIdentityClaimsError:
        return _form_page(
            request,
            portal,
            visitor,
            account_type=account_type,
            errors=["open.missing_claims"],
            status_code=400,
        )
    return RedirectResponse(f"/applications/{application.reference}?submitted=1", status_code=303)


@router.get("/applications/{reference}", summary="One account application")
def application_page(
    reference: str,
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    applications: ApplicationsDep,
) -> Response:
    identity = portal.require_identity(request, visitor, HIGHEST_LEVEL)
    application = applications.get_for(identity.subject, reference)
    if application is None:
        raise HTTPException(status_code=404)
    return portal.render(
        request,
        visitor,
        "application.html",
        {
            "application": application,
            "just_submitted": request.query_params.get("submitted") == "1",
        },
    )


def _form_page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    *,
    account_type: str,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return portal.render(
        request,
        visitor,
        "open_account.html",
        {"account_types": ACCOUNT_TYPES, "account_type": account_type, "errors": errors or []},
        status_code=status_code,
    )
