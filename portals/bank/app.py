"""``create_app(settings)``: the demo bank as a FastAPI app.

Its registration at the IdP requires level 2, and it asks for level 2 with
``acr_values`` as well: the bank opens accounts only for citizens verified with a
password and a one-time code. It is registered for the FAPI 2.0 profile: it logs citizens
in with pushed authorization requests, ``private_key_jwt`` and DPoP-bound tokens. Its
back-end checks each application with the e-KYC API as a client of its own
(``private_key_jwt`` and DPoP). Both keys come from ``keys``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from portals.bank import routes
from portals.bank.accounts import AccountApplications
from portals.bank.keys import load_backend_key, load_frontend_key, public_jwks
from portals.bank.kyc_checks import ApplicationChecks
from portals.bank.messages import MESSAGES
from portals.bank.settings import BankSettings
from portals.common.app_factory import build_portal_app
from portals.common.kyc_client import BackendCredentials, KycClient
from portals.common.levels import HIGHEST_LEVEL
from portals.common.web import NavItem, PortalSpec

HERE = Path(__file__).parent
SPEC = PortalSpec(
    name="bank",
    title_key="portal.title",
    min_level=HIGHEST_LEVEL,
    templates_dir=HERE / "templates",
    static_dir=HERE / "static",
    messages=MESSAGES,
    nav=(NavItem(routes.OPEN_ACCOUNT_PATH, "nav.open_account"),),
)


def create_app(
    settings: BankSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    frontend_key = (
        load_frontend_key(settings.private_key_file)
        if settings.token_endpoint_auth_method == "private_key_jwt"
        else None
    )
    app, portal = build_portal_app(
        SPEC, settings, [routes.router], transport=transport, clock=clock, private_jwk=frontend_key
    )
    applications = AccountApplications(portal.engine, clock=clock)
    applications.create_schema()
    app.state.account_applications = applications
    backend_key = load_backend_key(settings.kyc_private_key_file)
    kyc = KycClient(
        portal.eid,
        BackendCredentials(
            client_id=settings.kyc_client_id, method="private_key_jwt", private_jwk=backend_key
        ),
        transport=transport,
        dpop=settings.kyc_dpop,
        clock_skew_seconds=settings.clock_skew_seconds,
        clock=clock,
    )
    app.state.application_checks = ApplicationChecks(portal.engine, kyc, clock=clock)
    app.state.backend_jwks = public_jwks(*(key for key in (frontend_key, backend_key) if key))
    return app
