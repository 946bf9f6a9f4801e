"""The portal's ID-token checks against the real IdP: tampering, and a rotated key."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi import FastAPI

from identity_service.api.deps import IdentityServices
from tests.portals.support import (
    IDP,
    PUBLIC_SERVICES,
    Browser,
    Citizen,
    FakeClock,
    Network,
    log_in,
)

pytestmark = pytest.mark.anyio


def _tamper_with_id_token(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """On the wire: change the ID token's subject, keep the IdP's signature."""
    if request.url.path != "/token" or response.status_code != 200:
        return response
    body = response.json()
    header, payload, signature = body["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    body["id_token"] = f"{header}.{forged}.{signature}"
    return httpx.Response(200, json=body, request=request)


async def test_a_tampered_id_token_is_rejected(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    network.response_hooks.append(_tamper_with_id_token)

    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)

    assert page.status_code == 502
    assert "id_token_invalid" in page.text
    assert "bad signature" in page.text
    assert citizens[1].full_name not in page.text
    again = await browser.http.get(f"{PUBLIC_SERVICES}/applications", follow_redirects=False)
    assert again.headers["location"].startswith("/auth/login")  # not logged in


async def test_the_jwks_is_cached_and_refetched_when_a_new_kid_appears(
    public_services: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    citizen = citizens[1]

    async def fresh_login() -> httpx.Response:
        page = await log_in(browser, f"{PUBLIC_SERVICES}/applications", citizen, clock)
        await browser.submit(page, "/auth/logout")
        return page

    first = await fresh_login()
    second = await fresh_login()
    assert citizen.full_name in first.text and citizen.full_name in second.text
    assert len(network.requests_to(IDP, "/jwks")) == 1  # the second login used the cache

    # The public-services portal registered RS256 ID tokens: rotate that key at the IdP.
    idp_services.keys.rotate("RS256", retain_seconds=3600)
    clock.advance(15)
    third = await fresh_login()

    assert citizen.full_name in third.text
    assert len(network.requests_to(IDP, "/jwks")) == 2
