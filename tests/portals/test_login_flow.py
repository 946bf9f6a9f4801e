"""Logging in to the portals with the real IdP: level 1, step-up, SSO, errors, logout."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.portals.support import PUBLIC_SERVICES, Browser, Citizen, FakeClock, pass_idp

pytestmark = pytest.mark.anyio


async def test_level1_login_shows_the_catalogue(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    citizen = citizens[1]
    page = await browser.get(f"{PUBLIC_SERVICES}/services")
    print(page.url, page.status_code)
    page = await pass_idp(browser, page, citizen, clock)
    print(page.url, page.status_code, page.text[:3000])
    assert page.url == f"{PUBLIC_SERVICES}/services"
