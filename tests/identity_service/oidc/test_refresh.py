"""The refresh token grant: issuance, rotation, reuse detection, other clients, scopes, level."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.oidc.refresh_tokens import RefreshTokenRecord
from tests.identity_service.oidc.lifecycle_support import (
    assert_oauth_error,
    citizen_tokens,
    introspect,
    refresh,
    userinfo_status,
    verified,
)
from tests.identity_service.oidc.support import (
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    LEVEL2_PORTAL_SECRET,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    obtain_code,
    raw_request,
)

pytestmark = pytest.mark.anyio


async def test_offline_access_gives_a_refresh_token_stored_only_hashed(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    refresh_token = tokens["refresh_token"]
    assert tokens["scope"] == "openid profile offline_access"
    assert len(refresh_token) >= 43  # 256 random bits, base64url
    assert "." not in refresh_token  # opaque, not a JWT
    with Session(services.identity_engine) as session:
        rows = session.exec(select(RefreshTokenRecord)).scalars().all()
    assert len(rows) == 1
    stored = rows[0].model_dump()
    assert refresh_token not in {str(value) for value in stored.values()}
    assert stored["client_id"] == PUBLIC_SERVICES and stored["used_at"] is None


async def test_no_refresh_token_without_offline_access(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    assert "refresh_token" not in tokens


async def test_refresh_rotates_and_keeps_the_authentication(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    first = await citizen_tokens(http, browser, demo[1])
    original = await verified(http, first["id_token"], audience=PUBLIC_SERVICES)
    clock.advance(300)

    response = await refresh(http, first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"] and second["token_type"] == "Bearer"
    claims = await verified(http, second["id_token"], audience=PUBLIC_SERVICES)
    for name in ("sub", "acr", "amr", "auth_time", "sid"):
        assert claims[name] == original[name], name
    assert claims["iat"] > original["iat"]
    assert "nonce" not in claims  # OIDC Core §12.2
    assert await userinfo_status(http, second["access_token"]) == 200
    access = await verified(http, second["access_token"], audience="https://id.natid.test")
    assert access["acr"] == original["acr"] and access["auth_time"] == original["auth_time"]


async def test_refresh_keeps_level_two_from_a_step_up(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    request = raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, "openid profile offline_access")
    code = await obtain_code(
        browser,
        request,
        citizen.personal_id_number,
        citizen.password,
        totp_secret=citizen.totp_secret,
        clock=clock,
    )
    first = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": LEVEL2_PORTAL_REDIRECT,
            "code_verifier": request.code_verifier,
        },
        headers=basic_auth(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET),
    )
    assert first.status_code == 200, first.text
    clock.advance(3600)  # long after the SSO login; refresh still needs no new TOTP

    second = await refresh(
        http, first.json()["refresh_token"], client_id=LEVEL2_PORTAL, secret=LEVEL2_PORTAL_SECRET
    )

    assert second.status_code == 200, second.text
    claims = await verified(http, second.json()["id_token"], audience=LEVEL2_PORTAL)
    assert claims["acr"] == "urn:natid:acr:level2"
    assert claims["amr"] == ["pwd", "otp", "mfa"]


async def test_reuse_revokes_the_family_and_its_access_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    first = await citizen_tokens(http, browser, demo[1])
    rotated = (await refresh(http, first["refresh_token"])).json()
    assert await userinfo_status(http, rotated["access_token"]) == 200

    # An attacker replays the token they copied before it was rotated.
    replay = await refresh(http, first["refresh_token"])

    assert_oauth_error(replay, 400, "invalid_grant")
    # The legitimate client's current token is dead too, and so are the access tokens.
    assert_oauth_error(await refresh(http, rotated["refresh_token"]), 400, "invalid_grant")
    for access_token in (first["access_token"], rotated["access_token"]):
        assert await userinfo_status(http, access_token) == 401
        assert (await introspect(http, access_token)).json() == {"active": False}
    assert (await introspect(http, rotated["refresh_token"])).json() == {"active": False}
    reuse = [
        entry
        for entry in services.audit.tail(20)
        if entry.event == "token.revoked" and entry.details.get("reason") == "refresh_token_reuse"
    ]
    assert len(reuse) == 1
    assert reuse[0].details["access_tokens_revoked"] == 2
    assert reuse[0].details["error"] == "invalid_grant"
    assert first["refresh_token"] not in str(reuse[0].details)


async def test_a_refresh_token_presented_by_another_client_is_refused_not_burned(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])

    stolen = await refresh(
        http, tokens["refresh_token"], client_id=LEVEL2_PORTAL, secret=LEVEL2_PORTAL_SECRET
    )

    assert_oauth_error(stolen, 400, "invalid_grant")
    assert "another client" not in stolen.text  # says nothing about whose token it is
    # The rightful portal keeps working with the same token.
    assert (await refresh(http, tokens["refresh_token"])).status_code == 200
    refused = [entry for entry in services.audit.tail(20) if entry.event == "token.refused"]
    assert refused and refused[-1].client_id == LEVEL2_PORTAL
    assert refused[-1].details["reason"] == "issued_to_another_client"


async def test_scopes_can_narrow_but_never_widen(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])

    for wider in ("openid profile national_id", "openid address", "kyc.verify"):
        widened = await refresh(http, tokens["refresh_token"], scope=wider)
        assert_oauth_error(widened, 400, "invalid_scope")

    # The refused requests spent nothing: the same token narrows the scope now.
    narrowed = await refresh(http, tokens["refresh_token"], scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"
    info = await http.get(
        "/userinfo", headers={"Authorization": f"Bearer {narrowed.json()['access_token']}"}
    )
    assert "name" not in info.json()
    # The grant kept its scopes: the next refresh without scope gets all of them back.
    full = await refresh(http, narrowed.json()["refresh_token"])
    assert full.json()["scope"] == "openid profile offline_access"


async def test_without_openid_there_is_no_id_token(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    response = await refresh(http, tokens["refresh_token"], scope="profile")
    assert response.status_code == 200
    assert "id_token" not in response.json()


async def test_an_expired_grant_cannot_be_refreshed(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    rotated = (await refresh(http, tokens["refresh_token"])).json()
    # Rotation does not extend the grant: it ends refresh_token_ttl after the login.
    clock.advance(services.settings.refresh_token_ttl + 1)
    assert_oauth_error(await refresh(http, rotated["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": "made-up"},
        {"grant_type": "refresh_token", "refresh_token": "x" * 5000},
        {"grant_type": "refresh_token", "refresh_token": "a.b.c"},
    ],
)
async def test_missing_or_unknown_refresh_tokens_are_refused(
    http: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await http.post(
        "/token",
        data=form,
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    error = "invalid_request" if "refresh_token" not in form else "invalid_grant"
    assert_oauth_error(response, 400, error)


async def test_a_client_not_registered_for_refresh_is_unauthorized(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    response = await http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "demo-clinic",
            "client_secret": "demo-secret-demo-clinic-not-for-production",
        },
    )
    assert_oauth_error(response, 400, "unauthorized_client")


async def test_of_concurrent_uses_exactly_one_succeeds(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    answers = await asyncio.gather(*(refresh(http, tokens["refresh_token"]) for _ in range(4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400, 400, 400]


async def test_a_replayed_code_revokes_the_refresh_tokens_it_produced(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    request = raw_request(scope="openid profile offline_access")
    code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
    redemption = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.params["redirect_uri"],
        "code_verifier": request.code_verifier,
    }
    auth = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    first = await http.post("/token", data=redemption, headers=auth)
    assert first.status_code == 200
    assert_oauth_error(
        await http.post("/token", data=redemption, headers=auth), 400, "invalid_grant"
    )
    assert_oauth_error(await refresh(http, first.json()["refresh_token"]), 400, "invalid_grant")


async def test_refreshes_are_audited_and_counted(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    rotated = (await refresh(http, tokens["refresh_token"])).json()
    issued = [entry for entry in services.audit.tail(20) if entry.event == "token.issued"]
    assert [entry.details["grant_type"] for entry in issued[-2:]] == [
        "authorization_code",
        "refresh_token",
    ]
    latest = issued[-1]
    assert latest.client_id == PUBLIC_SERVICES and latest.level == 1
    assert latest.details["refresh_family"] == issued[-2].details["refresh_family"]
    assert latest.details["jti"] != issued[-2].details["jti"]
    assert rotated["refresh_token"] not in str(latest.details)
    assert demo[1].personal_id_number not in str(latest.details)
    metrics = (await http.get("/metrics")).text
    assert 'natid_tokens_issued_total{grant_type="refresh_token"} 1.0' in metrics
