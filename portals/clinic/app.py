"""``create_app(settings)``: the demo clinic as a FastAPI app (patients log in at level 1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from portals.clinic import routes
from portals.clinic.messages import MESSAGES
from portals.clinic.settings import ClinicSettings
from portals.clinic.visits import VisitBook
from portals.common.app_factory import build_portal_app
from portals.common.web import NavItem, PortalSpec

HERE = Path(__file__).parent
SPEC = PortalSpec(
    name="clinic",
    title_key="portal.title",
    min_level=1,
    templates_dir=HERE / "templates",
    static_dir=HERE / "static",
    messages=MESSAGES,
    nav=(NavItem(routes.VISITS_PATH, "nav.visits", needs_login=True),),
)


def create_app(
    settings: ClinicSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    app, portal = build_portal_app(
        SPEC, settings, [routes.router], transport=transport, clock=clock
    )
    book = VisitBook(portal.engine, clock=clock)
    book.create_schema()
    app.state.visit_book = book
    return app
