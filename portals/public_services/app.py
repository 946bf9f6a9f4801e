"""``create_app(settings)``: the public-service portal as a FastAPI app.

It logs citizens in with natid's e-ID at level 1 (its registration's minimum) and asks
for level 2 when they submit an application. Its applications live in its own database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from portals.common.app_factory import build_portal_app
from portals.common.web import NavItem, PortalSpec
from portals.public_services import routes
from portals.public_services.applications import ApplicationStore
from portals.public_services.messages import MESSAGES
from portals.public_services.settings import PublicServicesSettings

HERE = Path(__file__).parent
SPEC = PortalSpec(
    name="public_services",
    title_key="portal.title",
    min_level=1,
    templates_dir=HERE / "templates",
    static_dir=HERE / "static",
    messages=MESSAGES,
    nav=(
        NavItem("/services", "nav.services", needs_login=True),
        NavItem("/applications", "nav.applications", needs_login=True),
    ),
)


def create_app(
    settings: PublicServicesSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    app, portal = build_portal_app(
        SPEC, settings, [routes.router], transport=transport, clock=clock
    )
    store = ApplicationStore(portal.engine, clock=clock)
    store.create_schema()
    app.state.applications = store
    return app
