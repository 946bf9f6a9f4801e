"""``create_app(settings)``: the demo clinic as a FastAPI app.

Patients log in at level 1 to check themselves in and see their visits; the front desk
checks patients in after its back-end verified them with the e-KYC API (as the client
``demo-clinic-backend``, with a client secret).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from portals.clinic import front_desk, routes
from portals.clinic.messages import MESSAGES
from portals.clinic.settings import ClinicSettings
from portals.clinic.visits import VisitBook
from portals.common.app_factory import build_portal_app
from portals.common.kyc_client import BackendCredentials, KycClient
from portals.common.web import NavItem, PortalSpec

HERE = Path(__file__).parent
SPEC = PortalSpec(
    name="clinic",
    title_key="portal.title",
    min_level=1,
    templates_dir=HERE / "templates",
    static_dir=HERE / "static",
    messages=MESSAGES,
    nav=(
        NavItem(routes.VISITS_PATH, "nav.visits", needs_login=True),
        NavItem(front_desk.FRONT_DESK_PATH, "nav.front_desk"),
    ),
)


def create_app(
    settings: ClinicSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    app, portal = build_portal_app(
        SPEC, settings, [routes.router, front_desk.router], transport=transport, clock=clock
    )
    book = VisitBook(portal.engine, clock=clock)
    book.create_schema()
    app.state.visit_book = book
    app.state.kyc = KycClient(
        portal.eid,
        BackendCredentials(
            client_id=settings.kyc_client_id,
            method=settings.kyc_token_endpoint_auth_method,
            secret=settings.kyc_client_secret.get_secret_value(),
        ),
        transport=transport,
        clock_skew_seconds=settings.clock_skew_seconds,
        clock=clock,
    )
    app.state.front_desk_passcode = settings.front_desk_passcode
    return app
