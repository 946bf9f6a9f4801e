"""Token revocation (RFC 7009): own tokens only, unknown tokens accepted, effect everywhere."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.config import IdentitySettings
from identity_service.oidc.registration import ClientRegistration
from identity_service.state import MemoryStateStore
from tests.identity_service.oidc.environment import close_app, make_app
from tests.identity_service.oidc.lifecycle_support import (
    assert_oauth_error,
    citizen_tokens,
    introspect,
    refresh,
    revoke,
    userinfo_status,
)
from tests.identity_service.oidc.support import (
    ISSUER,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_SECRET,
    PUBLIC_SERVICES,
    Browser,
    FakeClock,
    basic_auth,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "form",
    [
        {"token": "never-issued"},
        {"token": "never-issued", "token_type_hint": "refresh_token"},
        {"token": "a.b.c", "token_type_hint": "access_token"},
        {"token": "never-issued", "token_type_hint": "something_else"},
        {"token": "x" * 9000},
    ],
)
async def test_unknown_tokens_are_accepted_silently(
    http: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await http.post(
        "/revoke", data=form, headers=basic_auth(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET)
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


async def test_revocation_needs_client_authentication(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    for headers in ({}, basic_auth(LEVEL2_PORTAL, "wrong")):
        response = await http.post(
            "/revoke", data={"token": tokens["access_token"]}, headers=headers
        )
        assert_oauth_error(response, 401, "invalid_client")
    assert await userinfo_status(http, tokens["access_token"]) == 200
    missing = await http.post(
        "/revoke", data={}, headers=basic_auth(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET)
    )
    assert_oauth_error(missing, 400, "invalid_request")


async def test_a_revoked_access_token_is_rejected_at_once(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    assert await userinfo_status(http, tokens["access_token"]) == 200

    assert (await revoke(http, tokens["access_token"])).status_code == 200

    assert await userinfo_status(http, tokens["access_token"]) == 401
    assert (await introspect(http, tokens["access_token"])).json() == {"active": False}
    # The grant goes on: the refresh token still works.
    assert (await refresh(http, tokens["refresh_token"])).status_code == 200
    entry = next(e for e in reversed(services.audit.tail(10)) if e.event == "token.revoked")
    assert entry.details["token_type"] == "access_token"
    assert entry.details["reason"] == "revocation_request"
    assert entry.actor == services.audit.subject_ref(demo[1].personal_id_number)


async def test_revoking_a_refresh_token_ends_the_grant(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    rotated = (await refresh(http, tokens["refresh_token"])).json()

    response = await revoke(http, rotated["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert_oauth_error(await refresh(http, rotated["refresh_token"]), 400, "invalid_grant")
    for access_token in (tokens["access_token"], rotated["access_token"]):
        assert await userinfo_status(http, access_token) == 401


async def test_another_clients_tokens_are_not_revoked(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = await revoke(http, token, client_id=LEVEL2_PORTAL, secret=LEVEL2_PORTAL_SECRET)
        assert response.status_code == 200 and response.content == b""
    assert await userinfo_status(http, tokens["access_token"]) == 200
    assert (await refresh(http, tokens["refresh_token"])).status_code == 200


async def test_a_public_client_revokes_its_own_token_by_client_id(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    public = services.clients.register(
        ClientRegistration(
            name="A mobile app",
            redirect_uris=("https://app.example.vn/cb",),
            scopes=("openid",),
            token_endpoint_auth_method="none",
        )
    ).client
    response = await http.post("/revoke", data={"token": "unknown", "client_id": public.client_id})
    assert response.status_code == 200


async def test_a_revocation_at_one_instance_holds_at_every_other(
    settings: IdentitySettings,
    state: MemoryStateStore,
    clock: FakeClock,
    app: FastAPI,
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
) -> None:
    """Two service processes sharing the identity database and the state store."""
    tokens = await citizen_tokens(http, browser, demo[1])
    other = make_app(settings, state, clock)
    try:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as elsewhere:
            assert await userinfo_status(elsewhere, tokens["access_token"]) == 200
            await revoke(http, tokens["access_token"])
            await revoke(http, tokens["refresh_token"])
            assert await userinfo_status(elsewhere, tokens["access_token"]) == 401
            stale = await refresh(elsewhere, tokens["refresh_token"])
            assert_oauth_error(stale, 400, "invalid_grant")
    finally:
        close_app(other)


async def test_withdrawing_consent_ends_the_portals_grants_for_that_citizen(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    app: FastAPI,
) -> None:
    first = await citizen_tokens(http, browser, demo[1])
    second = await citizen_tokens(http, browser, demo[1])  # another device, another grant
    async with Browser(app) as elsewhere:
        someone_else = await citizen_tokens(http, elsewhere, demo[2])

    revoked = services.revocation.revoke_grants_of(demo[1].personal_id_number, PUBLIC_SERVICES)

    assert revoked == 2
    for tokens in (first, second):
        assert_oauth_error(await refresh(http, tokens["refresh_token"]), 400, "invalid_grant")
        assert await userinfo_status(http, tokens["access_token"]) == 401
    assert (await refresh(http, someone_else["refresh_token"])).status_code == 200
    entry = next(e for e in reversed(services.audit.tail(10)) if e.event == "token.revoked")
    assert entry.details["reason"] == "consent_withdrawn" and entry.client_id == PUBLIC_SERVICES
    assert entry.actor == services.audit.subject_ref(demo[1].personal_id_number)
