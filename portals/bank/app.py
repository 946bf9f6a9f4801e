"""``create_app(settings)``: the demo bank as a FastAPI app.

Its registration at the IdP requires level 2, and it asks for level 2 with
``acr_values`` as well: the bank opens accounts only for citizens verified with a
password and a one-time code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from portals.bank import routes
from portals.bank.accounts import AccountApplications
from portals.bank.messages import MESSAGES
from portals.bank.settings import BankSettings
from portals.common.app_factory import build_portal_app
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
    app, portal = build_portal_app(
        SPEC, settings, [routes.router], transport=transport, clock=clock
    )
    applications = AccountApplications(portal.engine, clock=clock)
    applications.create_schema()
    app.state.account_applications = applications
    return app
