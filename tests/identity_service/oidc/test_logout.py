"""RP-initiated logout and OpenID Connect back-channel logout, with hostile inputs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.oidc.backchannel import BACKCHANNEL_LOGOUT_EVENT
from identity_service.oidc.client_seeds import load_client_seeds
from identity_service.state import MemoryStateStore
from identity_service.tokens import TokenService
from tests.identity_service.oidc.environment import CLIENT_SEEDS, TEST_CLIENT_SEEDS, close_app
from tests.identity_service.oidc.lifecycle_support import citizen_tokens, verified
from tests.identity_service.oidc.support import (
    ISSUER,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    LEVEL2_PORTAL_SECRET,
    PUBLIC_SERVICES,
    Browser,
    FakeClock,
    query_of,
    raw_request,
)

pytestmark = pytest.mark.anyio
HOME = "http://127.0.0.1:8101/"
PUBLIC_SERVICES_BACKCHANNEL = "http://127.0.0.1:8101/auth/backchannel-logout"
LEVEL2_PORTAL_BACKCHANNEL = "http://127.0.0.1:8102/auth/backchannel-logout"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


class LogoutReceiver:
    """The portals' back-channel logout endpoints, in-process (an httpx MockTransport)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, httpx.Request]] = []
        self.unreachable: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url in self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append((url, request))
        return httpx.Response(200)

    def tokens(self) -> dict[str, str]:
        return {
            url: parse_qs(request.content.decode())["logout_token"][0]
            for url, request in self.received
        }


@pytest.fixture
def receiver() -> LogoutReceiver:
    return LogoutReceiver()


@pytest.fixture
def app(
    settings: IdentitySettings, state: MemoryStateStore, clock: FakeClock, receiver: LogoutReceiver
) -> Iterator[FastAPI]:
    application = create_app(
        settings,
        state_store=state,
        client_seeds=CLIENT_SEEDS,
        clock=clock,
        backchannel_transport=httpx.MockTransport(receiver),
    )
    load_client_seeds(application.state.services.clients, TEST_CLIENT_SEEDS)
    yield application
    close_app(application)


def logout_url(**params: str) -> str:
    return "/logout?" + urlencode(params)


async def still_logged_in(browser: Browser) -> bool:
    """Whether the browser's SSO session still lets a portal in without a password."""
    answer = await browser.open(raw_request(prompt="none").url)
    return "code" in query_of(answer.headers["location"])


def hidden_fields(page: httpx.Response) -> dict[str, str]:
    return dict(_HIDDEN.findall(page.text))


async def test_discovery_advertises_logout(http: httpx.AsyncClient) -> None:
    document = (await http.get("/.well-known/openid-configuration")).json()
    assert document["end_session_endpoint"] == f"{ISSUER}/logout"
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


async def test_a_valid_hint_logs_out_and_returns_to_the_portal_with_state(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    assert await still_logged_in(browser)

    answer = await browser.open(
        logout_url(
            id_token_hint=tokens["id_token"],
            client_id=PUBLIC_SERVICES,
            post_logout_redirect_uri=HOME,
            state="rp-state-42",
        )
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"{HOME}?state=rp-state-42"
    assert 'natid_session=""' in answer.headers["set-cookie"]
    assert not await still_logged_in(browser)


async def test_an_expired_hint_still_counts_and_post_works(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
    services: IdentityServices,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    clock.advance(services.settings.id_token_ttl + 60)
    answer = await browser.post(
        "/logout", {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": HOME}
    )
    assert answer.status_code == 303 and answer.headers["location"] == HOME
    assert not await still_logged_in(browser)


async def test_logout_notifies_every_portal_of_the_session(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
    receiver: LogoutReceiver,
) -> None:
    citizen = demo[2]
    at_portal = await citizen_tokens(http, browser, citizen, scope="openid profile", clock=clock)
    at_bank = await citizen_tokens(
        http,
        browser,
        citizen,
        client_id=LEVEL2_PORTAL,
        secret=LEVEL2_PORTAL_SECRET,
        redirect_uri=LEVEL2_PORTAL_REDIRECT,
        scope="openid profile",
        clock=clock,
    )  # single sign-on, stepped up to level 2: the same session

    await browser.open(logout_url(id_token_hint=at_portal["id_token"]))

    logout_tokens = receiver.tokens()
    assert set(logout_tokens) == {PUBLIC_SERVICES_BACKCHANNEL, LEVEL2_PORTAL_BACKCHANNEL}
    for _url, request in receiver.received:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    for url, client_id, id_token, alg in (
        (PUBLIC_SERVICES_BACKCHANNEL, PUBLIC_SERVICES, at_portal["id_token"], "RS256"),
        (LEVEL2_PORTAL_BACKCHANNEL, LEVEL2_PORTAL, at_bank["id_token"], "ES256"),
    ):
        token = logout_tokens[url]
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "logout+jwt" and header["alg"] == alg
        claims = await verified(
            http, token, audience=client_id, require=["iat", "exp", "jti", "sub", "sid"]
        )
        id_claims = await verified(http, id_token, audience=client_id)
        assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}
        assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
        assert "nonce" not in claims
    # Pairwise subjects: each portal hears of its own subject only.
    assert (
        len(
            {
                jwt.decode(t, options={"verify_signature": False})["sub"]
                for t in logout_tokens.values()
            }
        )
        == 2
    )

    receiver.received.clear()
    await browser.open(logout_url(id_token_hint=at_portal["id_token"]))
    assert receiver.received == []  # the session and its participants are gone


async def test_a_portal_that_got_no_tokens_in_the_session_hears_nothing(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    receiver: LogoutReceiver,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    await browser.open(logout_url(id_token_hint=tokens["id_token"]))
    assert [url for url, _ in receiver.received] == [PUBLIC_SERVICES_BACKCHANNEL]


async def test_a_failed_delivery_is_logged_without_the_token(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    receiver: LogoutReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    receiver.unreachable.add(PUBLIC_SERVICES_BACKCHANNEL)
    with caplog.at_level(logging.WARNING, logger="identity_service.oidc.backchannel"):
        answer = await browser.open(
            logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=HOME)
        )
    assert answer.status_code == 303  # the browser is not held up by the portal
    messages = [record.getMessage() for record in caplog.records]
    assert any(PUBLIC_SERVICES in message and "ConnectError" in message for message in messages)
    assert not any("eyJ" in message for message in messages)


async def test_forged_and_foreign_hints_are_not_trusted(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    receiver: LogoutReceiver,
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["id_token"])
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, attacker_key, "RS256", {"kid": header["kid"]})
    other_issuer = TokenService(services.keys, "https://evil.example").id_token(
        client_id=PUBLIC_SERVICES,
        subject=claims["sub"],
        alg="RS256",
        ttl=600,
        auth_time=claims["auth_time"],
        sid=claims["sid"],
    )
    unsigned = jwt.encode(claims, None, "none")
    for hint in (forged, other_issuer, unsigned, tokens["access_token"], "garbage"):
        page = await browser.open(
            logout_url(id_token_hint=hint, post_logout_redirect_uri=HOME, state="s")
        )
        # No redirect and no logout: the citizen is asked to confirm instead.
        assert page.status_code == 200 and "location" not in page.headers
        assert 'action="/logout/confirm"' in page.text
        assert await still_logged_in(browser)
    assert receiver.received == []


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/",
        "http://127.0.0.1:8101/evil",
        "http://127.0.0.1:8101",
        "http://127.0.0.1:8102/",  # registered, but for the bank
        "http://127.0.0.1:8101/?logged_out=1&next=https://evil.example/",
    ],
)
async def test_an_unregistered_post_logout_redirect_uri_is_never_followed(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential], redirect_uri: str
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    page = await browser.open(
        logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=redirect_uri)
    )
    assert page.status_code == 200 and "location" not in page.headers
    assert 'data-outcome="logged-out"' in page.text
    assert "evil" not in page.text
    assert not await still_logged_in(browser)


async def test_a_client_id_contradicting_the_hint_is_not_trusted(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1], scope="openid profile")
    page = await browser.open(
        logout_url(
            id_token_hint=tokens["id_token"], client_id=LEVEL2_PORTAL, post_logout_redirect_uri=HOME
        )
    )
    assert page.status_code == 200 and 'action="/logout/confirm"' in page.text
    assert await still_logged_in(browser)


async def test_without_a_hint_the_citizen_confirms_in_their_language(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    receiver: LogoutReceiver,
) -> None:
    await citizen_tokens(http, browser, demo[1], scope="openid profile")
    page = await browser.open(
        logout_url(client_id=PUBLIC_SERVICES, post_logout_redirect_uri=HOME, state="abc")
    )
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    assert "Bạn có muốn đăng xuất" in page.text
    english = await browser.open(logout_url(client_id=PUBLIC_SERVICES, ui_locales="en"))
    assert "Do you want to log out" in english.text

    fields = hidden_fields(page)
    answer = await browser.post("/logout/confirm", {**fields, "decision": "logout"})

    assert answer.status_code == 303 and answer.headers["location"] == f"{HOME}?state=abc"
    assert not await still_logged_in(browser)
    assert [url for url, _ in receiver.received] == [PUBLIC_SERVICES_BACKCHANNEL]
    # The form works once.
    again = await browser.post("/logout/confirm", {**fields, "decision": "logout"})
    assert again.status_code == 400


async def test_staying_logged_in_keeps_the_session(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await citizen_tokens(http, browser, demo[1], scope="openid profile")
    page = await browser.open(logout_url(client_id=PUBLIC_SERVICES))
    answer = await browser.post("/logout/confirm", {**hidden_fields(page), "decision": "stay"})
    assert answer.status_code == 200 and 'data-outcome="kept"' in answer.text
    assert await still_logged_in(browser)


async def test_a_confirmation_cannot_be_forged_or_replayed_into_another_browser(
    app: FastAPI, http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await citizen_tokens(http, browser, demo[1], scope="openid profile")
    page = await browser.open(logout_url(client_id=PUBLIC_SERVICES))
    wrong_csrf = {**hidden_fields(page), "csrf_token": "forged", "decision": "logout"}
    assert (await browser.post("/logout/confirm", wrong_csrf)).status_code == 400
    assert await still_logged_in(browser)

    # The attacker obtains a confirmation form in their own session and makes the
    # victim's browser post it (cross-site request forgery).
    async with Browser(app) as attacker:
        await citizen_tokens(http, attacker, demo[2], scope="openid profile")
        attackers_form = hidden_fields(await attacker.open(logout_url(client_id=PUBLIC_SERVICES)))
    forced = await browser.post("/logout/confirm", {**attackers_form, "decision": "logout"})
    assert forced.status_code == 400
    assert await still_logged_in(browser)


async def test_logout_without_a_session_just_says_so(browser: Browser) -> None:
    page = await browser.open("/logout")
    assert page.status_code == 200 and 'data-outcome="logged-out"' in page.text


async def test_the_logout_page_cannot_be_framed(browser: Browser) -> None:
    page = await browser.open("/logout")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
