"""Token introspection (RFC 7662): client authentication, own tokens only, nothing leaked."""

from __future__ import annotations

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.oidc.registration import ClientRegistration
from identity_service.tokens import TokenService
from tests.identity_service.oidc.lifecycle_support import (
    CLINIC_BACKEND,
    CLINIC_BACKEND_SECRET,
    assert_oauth_error,
    citizen_tokens,
    introspect,
    revoke,
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
INACTIVE = {"active": False}


async def test_an_active_access_token_is_described(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])

    response = await introspect(http, tokens["access_token"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert body["active"] is True and body["token_type"] == "Bearer"
    for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "acr"):
        assert body[name] == claims[name], name
    assert body["client_id"] == PUBLIC_SERVICES and body["iss"] == ISSUER
    assert demo[1].personal_id_number not in response.text


async def test_a_refresh_token_is_described_with_or_without_a_hint(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    for hint in ({}, {"token_type_hint": "refresh_token"}, {"token_type_hint": "access_token"}):
        body = (await introspect(http, tokens["refresh_token"], **hint)).json()
        assert body["active"] is True and body["token_type"] == "refresh_token"
        assert body["scope"] == tokens["scope"] and body["sub"] == id_claims["sub"]
        assert body["exp"] > body["iat"]
    # An access token with a refresh_token hint is still found.
    hinted = await introspect(http, tokens["access_token"], token_type_hint="refresh_token")
    assert hinted.json()["active"] is True


async def test_another_clients_tokens_are_just_inactive(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = await introspect(
            http, token, client_id=LEVEL2_PORTAL, secret=LEVEL2_PORTAL_SECRET
        )
        assert response.status_code == 200
        assert response.json() == INACTIVE


async def test_forged_expired_and_unknown_tokens_are_just_inactive(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    clock: FakeClock,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    genuine = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    forged = jwt.encode(genuine, ec.generate_private_key(ec.SECP256R1()), "ES256", header)
    other_issuer = TokenService(services.keys, "https://evil.example").access_token(
        client_id=PUBLIC_SERVICES, subject=genuine["sub"], scope=genuine["scope"], ttl=600
    )
    for token in (forged, other_issuer, "not-a-token", "a.b.c", "x" * 9000, tokens["id_token"]):
        assert (await introspect(http, token)).json() == INACTIVE
    clock.advance(services.settings.access_token_ttl + 1)
    assert (await introspect(http, tokens["access_token"])).json() == INACTIVE


async def test_a_revoked_access_token_is_inactive_at_once(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    assert (await revoke(http, tokens["access_token"])).status_code == 200
    assert (await introspect(http, tokens["access_token"])).json() == INACTIVE
    # Revoking an access token does not end the grant.
    assert (await introspect(http, tokens["refresh_token"])).json()["active"] is True


async def test_a_back_end_introspects_its_machine_token(http: httpx.AsyncClient) -> None:
    auth = basic_auth(CLINIC_BACKEND, CLINIC_BACKEND_SECRET)
    token = (
        await http.post("/token", data={"grant_type": "client_credentials"}, headers=auth)
    ).json()["access_token"]
    body = (
        await introspect(http, token, client_id=CLINIC_BACKEND, secret=CLINIC_BACKEND_SECRET)
    ).json()
    assert body["active"] is True and body["sub"] == CLINIC_BACKEND
    assert body["scope"] == "kyc.verify" and "acr" not in body
    await revoke(http, token, client_id=CLINIC_BACKEND, secret=CLINIC_BACKEND_SECRET)
    after = await introspect(http, token, client_id=CLINIC_BACKEND, secret=CLINIC_BACKEND_SECRET)
    assert after.json() == INACTIVE


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        ({}, {}),
        ({}, {"client_id": PUBLIC_SERVICES}),
        (basic_auth(PUBLIC_SERVICES, "wrong-secret"), {}),
        ({"Authorization": "Bearer something"}, {}),
    ],
)
async def test_introspection_without_client_authentication_is_refused(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    headers: dict[str, str],
    form: dict[str, str],
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    response = await http.post(
        "/introspect", data={"token": tokens["access_token"], **form}, headers=headers
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "active" not in response.json()


async def test_public_clients_cannot_introspect(
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
    response = await http.post(
        "/introspect", data={"token": "anything", "client_id": public.client_id}
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_a_token_is_required(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/introspect", data={}, headers=basic_auth(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET)
    )
    assert_oauth_error(response, 400, "invalid_request")
