"""Back-channel logout at the portals: end to end through the real IdP, and attack inputs.

The IdP's notifier reaches the in-process portals over the test network, so a logout at
one portal ends the sessions the citizen had at the others in the same SSO session. The
attack tests post logout tokens made with the IdP's own keys (as tests may) and with
keys the IdP never published.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import func, select

from identity_service.api.deps import IdentityServices
from portals.common.logout_tokens import BACKCHANNEL_LOGOUT_EVENT
from portals.common.sessions import session_table
from tests.portals.support import (
    BANK,
    IDP,
    PUBLIC_SERVICES,
    Browser,
    Citizen,
    FakeClock,
    Network,
    idp_steps_answered,
    log_in,
)

pytestmark = pytest.mark.anyio
RECEIVER = f"{PUBLIC_SERVICES}/auth/backchannel-logout"
PUBLIC_SERVICES_CLIENT = "public-services-portal"


def idp_session_of(app: FastAPI, browser: Browser) -> tuple[str, str]:
    """The (sid, pairwise sub) of the browser's logged-in session at the portal ``app``."""
    portal = app.state.portal
    session = portal.sessions.load(browser.http.cookies.get(portal.spec.session_cookie))
    assert session is not None and session.data.get("identity")
    identity = session.data["identity"]
    return identity["idp_session_id"], identity["subject"]


def logged_in_session(app: FastAPI, sid: str, sub: str) -> None:
    """A portal session as a login in IdP session ``sid`` leaves it (no browser needed)."""
    app.state.portal.sessions.create(
        {"identity": {"subject": sub, "level": 1, "acr": "urn:natid:acr:level1", "amr": []}},
        idp_session_id=sid,
        subject=sub,
    )


def live_sessions(app: FastAPI) -> int:
    with app.state.portal.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(session_table)).scalar_one()


def logout_claims(
    clock: FakeClock, sid: str | None, sub: str | None, **overrides: Any
) -> dict[str, Any]:
    now = int(clock())
    claims: dict[str, Any] = {
        "iss": IDP,
        "aud": PUBLIC_SERVICES_CLIENT,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.perf_counter_ns()}",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sid": sid,
        "sub": sub,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def idp_signed(services: IdentityServices, claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the IdP's own RS256 key (the public-service portal's alg),
    typed ``logout+jwt`` unless ``header`` says otherwise (``typ=None``: no typ)."""
    key = services.keys.signing_key("RS256")
    headers = {"kid": key.kid, "typ": "logout+jwt", **header}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)


async def post_logout_token(network: Network, token: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=network) as idp_side:
        return await idp_side.post(RECEIVER, data={"logout_token": token})


async def test_logout_at_the_bank_ends_the_sso_session_at_the_other_portal(
    public_services: FastAPI,
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    citizen = citizens[2]
    await log_in(browser, f"{PUBLIC_SERVICES}/services", citizen, clock)
    page = await log_in(browser, f"{BANK}/open-account", citizen, clock)  # SSO: no password
    assert idp_steps_answered(network) == ["login", "consent", "second-factor", "consent"]
    public_sid, _ = idp_session_of(public_services, browser)
    bank_sid, _ = idp_session_of(bank, browser)
    assert public_sid and public_sid == bank_sid
    # Another citizen's session at the same portal, in another IdP session.
    other_browser = Browser(network)
    try:
        await log_in(other_browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
        assert live_sessions(public_services) == 2

        await browser.submit(page, "/auth/logout")

        notified = {
            str(request.url)
            for request in network.log
            if request.url.path == "/auth/backchannel-logout"
        }
        assert notified == {RECEIVER, f"{BANK}/auth/backchannel-logout"}
        assert live_sessions(public_services) == 1  # the other citizen's session stays
        again = await browser.get(f"{PUBLIC_SERVICES}/applications")
        assert again.url.path.startswith("/interaction/")  # sent to log in again
        assert browser.find_form(again, "/login") is not None
        still = await other_browser.get(f"{PUBLIC_SERVICES}/applications")
        assert str(still.url) == f"{PUBLIC_SERVICES}/applications"
        assert citizens[1].full_name in still.text
    finally:
        await other_browser.aclose()


async def test_a_genuine_token_works_once_and_answers_200_no_store(
    public_services: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    sid, sub = idp_session_of(public_services, browser)
    token = idp_signed(idp_services, logout_claims(clock, sid, sub))

    first = await post_logout_token(network, token)
    replayed = await post_logout_token(network, token)

    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    assert live_sessions(public_services) == 0
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_request"
    assert "already used" in replayed.json()["error_description"]
    assert replayed.headers["cache-control"] == "no-store"


async def test_an_untyped_token_is_accepted_when_it_passes_every_other_check(
    public_services: FastAPI,
    idp_services: IdentityServices,
    clock: FakeClock,
    network: Network,
) -> None:
    logged_in_session(public_services, "idp-session-1", "pairwise-1")

    answer = await post_logout_token(
        network,
        idp_signed(idp_services, logout_claims(clock, "idp-session-1", "pairwise-1"), typ=None),
    )

    assert answer.status_code == 200
    assert live_sessions(public_services) == 0


async def test_a_token_naming_only_the_subject_ends_all_of_its_sessions(
    public_services: FastAPI,
    idp_services: IdentityServices,
    clock: FakeClock,
    network: Network,
) -> None:
    logged_in_session(public_services, "idp-session-1", "pairwise-1")
    logged_in_session(public_services, "idp-session-2", "pairwise-1")
    logged_in_session(public_services, "idp-session-3", "pairwise-2")

    answer = await post_logout_token(
        network, idp_signed(idp_services, logout_claims(clock, None, "pairwise-1"))
    )

    assert answer.status_code == 200
    assert live_sessions(public_services) == 1  # only the other subject's session is left


@pytest.mark.parametrize(
    ("overrides", "header", "reason"),
    [
        ({"events": None}, {}, "events"),
        ({"events": {"http://schemas.openid.net/event/other": {}}}, {}, "events"),
        ({"events": {BACKCHANNEL_LOGOUT_EVENT: "yes"}}, {}, "events"),
        ({"nonce": "n-0S6_WzA2Mj"}, {}, "nonce"),
        ({"sid": None, "sub": None}, {}, "neither sid nor sub"),
        ({"aud": "demo-bank"}, {}, "not issued to this portal"),
        ({"iss": "http://127.0.0.1:9999"}, {}, "another issuer"),
        ({"jti": None}, {}, "jti"),
        ({"iat": None}, {}, "iat"),
        ({"iat": -100, "exp": -61}, {}, "expired"),
        ({"iat": -3600, "exp": 120}, {}, "too long ago"),
        ({"iat": 10_000}, {}, "future"),
        ({}, {"typ": "JWT"}, "typ"),
        ({}, {"typ": "at+jwt"}, "typ"),
    ],
)
async def test_tokens_breaking_a_rule_of_section_2_6_are_refused(
    public_services: FastAPI,
    idp_services: IdentityServices,
    clock: FakeClock,
    network: Network,
    overrides: dict[str, Any],
    header: dict[str, Any],
    reason: str,
) -> None:
    sid, sub = "idp-session-1", "pairwise-1"
    logged_in_session(public_services, sid, sub)
    now = int(clock())
    relative = {
        name: now + value if name in ("exp", "iat") and isinstance(value, int) else value
        for name, value in overrides.items()
    }
    claims = {**logout_claims(clock, sid, sub), **relative}
    token = idp_signed(
        idp_services, {name: value for name, value in claims.items() if value is not None}, **header
    )

    answer = await post_logout_token(network, token)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert reason in answer.json()["error_description"]
    assert answer.headers["cache-control"] == "no-store"
    assert live_sessions(public_services) == 1


async def test_a_token_signed_with_a_key_the_idp_never_published_is_refused(
    public_services: FastAPI,
    idp_services: IdentityServices,
    clock: FakeClock,
    network: Network,
) -> None:
    sid, sub = "idp-session-1", "pairwise-1"
    logged_in_session(public_services, sid, sub)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = logout_claims(clock, sid, sub)
    published_kid = idp_services.keys.signing_key("RS256").kid
    typed = {"typ": "logout+jwt"}
    same_kid = jwt.encode(claims, forger, "RS256", headers={**typed, "kid": published_kid})
    own_kid = jwt.encode(claims, forger, "RS256", headers={**typed, "kid": "forged-key"})
    unsigned = jwt.encode(claims, None, "none", headers={**typed, "kid": published_kid})

    answers = [await post_logout_token(network, token) for token in (same_kid, own_kid, unsigned)]

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert "bad signature" in answers[0].json()["error_description"]
    assert "does not publish" in answers[1].json()["error_description"]
    assert "not accepted" in answers[2].json()["error_description"]
    assert live_sessions(public_services) == 1


@pytest.mark.parametrize(
    "request_options",
    [
        {"data": {}},
        {"content": b"logout_token=a&logout_token=b"},
        {"json": {"logout_token": "x.y.z"}},
        {"data": {"logout_token": "not-a-jwt"}},
        {"data": {"logout_token": "x" * 20_000}},
    ],
)
async def test_malformed_requests_get_invalid_request(
    public_services: FastAPI, network: Network, request_options: dict[str, Any]
) -> None:
    headers = (
        {"Content-Type": "application/x-www-form-urlencoded"}
        if "content" in request_options
        else {}
    )
    async with httpx.AsyncClient(transport=network) as idp_side:
        answer = await idp_side.post(RECEIVER, headers=headers, **request_options)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_token_that_cannot_be_checked_now_gets_503_not_a_logout(
    public_services: FastAPI, idp_services: IdentityServices, clock: FakeClock, network: Network
) -> None:
    network.response_hooks.append(
        lambda request, response: (
            httpx.Response(502, request=request) if request.url.port == 8000 else response
        )
    )
    token = idp_signed(idp_services, logout_claims(clock, "some-sid", "some-sub"))

    answer = await post_logout_token(network, token)

    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"] == "30"
    network.response_hooks.clear()
    assert (await post_logout_token(network, token)).status_code == 200  # checked once back
