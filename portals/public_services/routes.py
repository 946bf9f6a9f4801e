"""Pages of the public-service portal: home, catalogue, the criminal-record application
and the citizen's applications.

Browsing needs an e-ID login at level 1; submitting an application needs level 2. A
level-1 citizen sees the form filled in and a button to step up, which sends them to the
IdP with ``acr_values`` for level 2 and back to the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portals.common.auth_routes import login_url
from portals.common.levels import HIGHEST_LEVEL
from portals.common.web import Portal, PortalDep, Visitor, VisitorDep
from portals.public_services.applications import (
    ApplicationForm,
    ApplicationStore,
    MissingIdentityClaimsError,
)
from portals.public_services.catalogue import CATALOGUE, CRIMINAL_RECORD_SLUG, find_service

router = APIRouter()
APPLY_PATH = "/services/criminal-record/apply"
MAX_FORM_FIELD_LENGTH = 1000
FormText = Annotated[str, Form(max_length=MAX_FORM_FIELD_LENGTH)]


def get_store(request: Request) -> ApplicationStore:
    return request.app.state.applications


StoreDep = Annotated[ApplicationStore, Depends(get_store)]


@router.get("/", summary="Home")
def home(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    return portal.render(request, visitor, "home.html")


@router.get("/services", summary="The catalogue of services")
def catalogue(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    portal.require_identity(request, visitor)
    return portal.render(request, visitor, "catalogue.html", {"services": CATALOGUE})


@router.get("/services/{slug}", summary="One service")
def service(slug: str, request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    portal.require_identity(request, visitor)
    found = find_service(slug)
    if found is None:
        raise HTTPException(status_code=404)
    return portal.render(request, visitor, "service.html", {"service": found})


@router.get(APPLY_PATH, summary="The criminal-record application, filled from the e-ID")
def application_form(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    portal.require_identity(request, visitor)
    return _form_page(request, portal, visitor, ApplicationForm())


@router.post(APPLY_PATH, summary="Submit the application (e-ID level 2)")
def submit_application(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    store: StoreDep,
    csrf_token: FormText = "",
    certificate_type: FormText = "",
    purpose: FormText = "",
    copies: FormText = "",
    father_name: FormText = "",
    mother_name: FormText = "",
    ban_statement_requested: FormText = "",
    delivery_method: FormText = "",
    delivery_address: FormText = "",
    email: FormText = "",
) -> Response:
    identity = portal.require_identity(request, visitor)
    portal.check_csrf(visitor, csrf_token)
    form = ApplicationForm.from_form(
        {
            "certificate_type": certificate_type,
            "purpose": purpose,
            "copies": copies,
            "father_name": father_name,
            "mother_name": mother_name,
            "ban_statement_requested": ban_statement_requested,
            "delivery_method": delivery_method,
            "delivery_address": delivery_address,
            "email": email,
        }
    )
    if identity.level < HIGHEST_LEVEL:
        return _form_page(request, portal, visitor, form, status_code=403)
    if not form.validate():
        return _form_page(request, portal, visitor, form, status_code=400)
    try:
        application = store.submit(identity, form)
    except MissingIdentityClaimsError:
        return _form_page(request, portal, visitor, form, missing_claims=True, status_code=400)
    return RedirectResponse(f"/applications/{application.reference}?submitted=1", status_code=303)


@router.get("/applications", summary="The citizen's applications")
def applications(
    request: Request, portal: PortalDep, visitor: VisitorDep, store: StoreDep
) -> Response:
    identity = portal.require_identity(request, visitor)
    return portal.render(
        request,
        visitor,
        "applications.html",
        {"applications": store.list_for(identity.subject), "service_slug": CRIMINAL_RECORD_SLUG},
    )


@router.get("/applications/{reference}", summary="One application and its status")
def application_status(
    reference: str, request: Request, portal: PortalDep, visitor: VisitorDep, store: StoreDep
) -> Response:
    identity = portal.require_identity(request, visitor)
    application = store.get_for(identity.subject, reference)
    if application is None:
        raise HTTPException(status_code=404)
    return portal.render(
        request,
        visitor,
        "application.html",
        {
            "application": application,
            "service_slug": CRIMINAL_RECORD_SLUG,
            "just_submitted": request.query_params.get("submitted") == "1",
        },
    )


def _form_page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    form: ApplicationForm,
    *,
    missing_claims: bool = False,
    status_code: int = 200,
) -> Response:
    identity = visitor.identity
    can_submit = identity is not None and identity.level >= HIGHEST_LEVEL
    return portal.render(
        request,
        visitor,
        "apply.html",
        {
            "form": form,
            "can_submit": can_submit,
            "missing_claims": missing_claims,
            "step_up_url": login_url(HIGHEST_LEVEL, APPLY_PATH),
        },
        status_code=status_code,
    )
