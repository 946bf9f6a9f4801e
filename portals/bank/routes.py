"""Pages of the demo bank: home, opening an account (e-ID level 2), an application, and
the back-end's public key set.

The bank's registration requires level 2 and every page that shows personal data asks
for it again, so a session can never reach those pages at level 1. Sending an
application runs the e-KYC check at once (``kyc_checks``); a check that got no usable
answer can be run again from the application's page.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portals.bank.accounts import (
    ACCOUNT_TYPES,
    STATUS_KYC_PENDING,
    AccountApplication,
    AccountApplications,
    MissingIdentityClaimsError,
)
from portals.bank.kyc_checks import ApplicationChecks
from portals.common.levels import HIGHEST_LEVEL
from portals.common.web import Portal, PortalDep, Visitor, VisitorDep

router = APIRouter()
OPEN_ACCOUNT_PATH = "/open-account"
JWKS_PATH = "/.well-known/jwks.json"
FormText = Annotated[str, Form(max_length=100)]
ONE_TIME_CODE = re.compile(r"[0-9]{6}")
JWKS_CACHE_SECONDS = 300


def get_applications(request: Request) -> AccountApplications:
    return request.app.state.account_applications


def get_checks(request: Request) -> ApplicationChecks:
    return request.app.state.application_checks


ApplicationsDep = Annotated[AccountApplications, Depends(get_applications)]
ChecksDep = Annotated[ApplicationChecks, Depends(get_checks)]


@router.get("/", summary="Home")
def home(
    request: Request, portal: PortalDep, visitor: VisitorDep, applications: ApplicationsDep
) -> Response:
    mine = applications.list_for(visitor.identity.subject) if visitor.identity else []
    return portal.render(request, visitor, "home.html", {"applications": mine})


@router.get(JWKS_PATH, summary="The bank's public keys (front-end and back-end, private_key_jwt)")
def backend_jwks(request: Request) -> Response:
    return JSONResponse(
        request.app.state.backend_jwks,
        headers={"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"},
    )


@router.get(OPEN_ACCOUNT_PATH, summary="The verified identity and the account form")
def open_account_form(request: Request, portal: PortalDep, visitor: VisitorDep) -> Response:
    portal.require_identity(request, visitor, HIGHEST_LEVEL)
    return _form_page(request, portal, visitor, account_type=ACCOUNT_TYPES[0])


@router.post(OPEN_ACCOUNT_PATH, summary="Send the account application (then the e-KYC check)")
async def open_account(
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    applications: ApplicationsDep,
    checks: ChecksDep,
    csrf_token: FormText = "",
    account_type: FormText = "",
    terms: FormText = "",
    otp: FormText = "",
) -> Response:
    identity = portal.require_identity(request, visitor, HIGHEST_LEVEL)
    portal.check_csrf(visitor, csrf_token)
    otp = otp.strip()
    errors = []
    if account_type not in ACCOUNT_TYPES:
        errors.append("open.error.account_type")
    if terms != "accepted":
        errors.append("open.error.terms")
    if otp and not ONE_TIME_CODE.fullmatch(otp):
        errors.append("open.error.otp")
    if errors:
        return _form_page(
            request, portal, visitor, account_type=account_type, errors=errors, status_code=400
        )
    try:
        application = await run_in_threadpool(applications.submit, identity, account_type)
    except MissingIdentityClaimsError:
        return _form_page(
            request,
            portal,
            visitor,
            account_type=account_type,
            errors=["open.missing_claims"],
            status_code=400,
        )
    await checks.check(application, identity.gender, otp or None)
    return RedirectResponse(f"/applications/{application.reference}?submitted=1", status_code=303)


@router.get("/applications/{reference}", summary="One account application and its e-KYC check")
def application_page(
    reference: str,
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    applications: ApplicationsDep,
    checks: ChecksDep,
) -> Response:
    identity = portal.require_identity(request, visitor, HIGHEST_LEVEL)
    application = applications.get_for(identity.subject, reference)
    if application is None:
        raise HTTPException(status_code=404)
    return _application_page(request, portal, visitor, application, checks)


@router.post("/applications/{reference}/kyc-check", summary="Run a pending e-KYC check again")
async def retry_check(
    reference: str,
    request: Request,
    portal: PortalDep,
    visitor: VisitorDep,
    applications: ApplicationsDep,
    checks: ChecksDep,
    csrf_token: FormText = "",
    otp: FormText = "",
) -> Response:
    identity = portal.require_identity(request, visitor, HIGHEST_LEVEL)
    portal.check_csrf(visitor, csrf_token)
    application = await run_in_threadpool(applications.get_for, identity.subject, reference)
    if application is None:
        raise HTTPException(status_code=404)
    otp = otp.strip()
    if otp and not ONE_TIME_CODE.fullmatch(otp):
        return _application_page(
            request, portal, visitor, application, checks, errors=["open.error.otp"], status=400
        )
    if application.status == STATUS_KYC_PENDING:
        await checks.check(application, identity.gender, otp or None)
    return RedirectResponse(f"/applications/{application.reference}", status_code=303)


def _application_page(
    request: Request,
    portal: Portal,
    visitor: Visitor,
    application: AccountApplication,
    checks: ApplicationChecks,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    attempts = checks.attempts(application)
    latest = attempts[0] if attempts else None
    context: dict[str, Any] = {
        "application": application,
        "check": latest,
        "earlier_checks": attempts[1:],
        "claims_pretty": (
            json.dumps(latest.claims, indent=2, ensure_ascii=False) if latest else ""
        ),
        "just_submitted": request.query_params.get("submitted") == "1",
        "errors": errors or [],
    }
    return portal.render(request, visitor, "application.html", context, status_code=status)


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
