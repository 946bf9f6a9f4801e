"""Pushed authorization requests (RFC 9126): the push, the request URI at /authorize, its
single use and short life, and clients that may use no other way."""

from __future__ import annotations

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.oidc.high_assurance import (
    PAR_URL,
    TOKEN_URL,
    DpopKey,
    KeyHoldingClient,
    code_through_par,
    fresh_proof,
    push,
    redeem,
    unverified_claims,
)
from tests.identity_service.oidc.lifecycle_support import assert_oauth_error
from tests.identity_service.oidc.support import (
    Browser,
    FakeClock,
    form_actions,
    query_of,
)

pytestmark = pytest.mark.anyio


def _authorize_url(client_id: str, request_uri: str, **extra: str) -> str:
    params = httpx.QueryParams({"client_id": client_id, "request_uri": request_uri, **extra})
    return f"/authorize?{params}"


async def test_a_pushed_request_is_used_by_reference_and_leads_to_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    request = client.raw_request()
    pushed = await push(http, client, request.params)
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    assert pushed.headers["cache-control"] == "no-store"

    code, pushed_request = await code_through_par(http, browser, client, demo[1])
    exchanged = await redeem(http, client, code, pushed_request)
    assert exchanged.status_code == 200, exchanged.text
    assert (
        unverified_claims(exchanged.json()["id_token"])["nonce"] == pushed_request.params["nonce"]
    )
    # The code answers its own pushed request: another request's verifier fails.
    code, _ = await code_through_par(http, browser, client, demo[1])
    assert_oauth_error(await redeem(http, client, code, request), 400, "invalid_grant")


async def test_a_request_uri_works_once(
    http: httpx.AsyncClient, browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    pushed = await push(http, client, client.raw_request().params)
    url = _authorize_url(client.client_id, pushed.json()["request_uri"])
    first = await browser.open(url)
    assert "/login" in " ".join(form_actions(first))
    again = await browser.open(url)
    assert again.status_code == 400
    assert "location" not in again.headers


async def test_a_request_uri_expires_after_sixty_seconds(
    http: httpx.AsyncClient, browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    pushed = await push(http, client, client.raw_request().params)
    clock.advance(61)
    late = await browser.open(_authorize_url(client.client_id, pushed.json()["request_uri"]))
    assert late.status_code == 400 and "location" not in late.headers


async def test_a_request_uri_is_only_for_the_client_that_pushed_it(
    http: httpx.AsyncClient, browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    owner = KeyHoldingClient(services, clock)
    pushed = await push(http, owner, owner.raw_request().params)
    other = KeyHoldingClient(services, clock, client_id="khac")
    stolen = await browser.open(_authorize_url(other.client_id, pushed.json()["request_uri"]))
    assert stolen.status_code == 400 and "location" not in stolen.headers


async def test_parameters_sent_beside_the_request_uri_are_ignored(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    request = client.raw_request("openid")
    pushed = await push(http, client, request.params)
    url = _authorize_url(
        client.client_id,
        pushed.json()["request_uri"],
        scope="openid profile offline_access",
        redirect_uri="https://evil.example/callback",
        state="forged",
    )
    page = await browser.open(url)
    citizen = demo[1]
    page = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    if "/consent" in " ".join(form_actions(page)):
        assert "offline_access" not in page.text
        page = await browser.submit(page, "consent", decision="approve")
    location = page.headers["location"]
    assert location.startswith(client.redirect_uri + "?")
    answer = query_of(location)
    assert answer["state"] == request.params["state"]
    tokens = (await redeem(http, client, answer["code"], request)).json()
    assert tokens["scope"] == "openid"


async def test_a_client_registered_for_par_cannot_send_a_plain_request(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock, require_pushed_authorization_requests=True)
    request = client.raw_request()
    answer = query_of((await browser.open(request.url)).headers["location"])
    assert answer["error"] == "invalid_request"
    assert "pushed" in answer["error_description"]
    assert answer["state"] == request.params["state"]


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"redirect_uri": "https://evil.example/callback"}, 400, "invalid_request"),
        ({"redirect_uri": None}, 400, "invalid_request"),
        ({"scope": "profile"}, 400, "invalid_scope"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, 400, "invalid_request"),
        ({"client_id": "public-services-portal"}, 401, "invalid_client"),
    ],
)
async def test_a_bad_push_is_a_json_error(
    http: httpx.AsyncClient,
    services: IdentityServices,
    clock: FakeClock,
    changes: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    client = KeyHoldingClient(services, clock)
    params = {**client.raw_request().params, **changes}
    params = {name: value for name, value in params.items() if value is not None}
    response = await push(http, client, params)
    assert_oauth_error(response, status, error)
    assert "location" not in response.headers


async def test_a_push_needs_client_authentication(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    response = await http.post("/par", data=client.raw_request().params)
    assert_oauth_error(response, 401, "invalid_client")
    forged = await push(http, client, client.raw_request().params, audience="https://evil.example")
    assert_oauth_error(forged, 401, "invalid_client")


async def test_a_proof_sent_with_the_push_binds_the_code_to_its_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    key = DpopKey()
    pushed_with = fresh_proof(services, clock, key, "POST", PAR_URL)
    code, request = await code_through_par(http, browser, client, demo[1], dpop_headers=pushed_with)
    other = fresh_proof(services, clock, DpopKey(), "POST", TOKEN_URL)
    assert_oauth_error(
        await redeem(http, client, code, request, headers=other), 400, "invalid_grant"
    )

    code, request = await code_through_par(
        http,
        browser,
        client,
        demo[1],
        dpop_headers=fresh_proof(services, clock, key, "POST", PAR_URL),
    )
    proven = fresh_proof(services, clock, key, "POST", TOKEN_URL)
    tokens = await redeem(http, client, code, request, headers=proven)
    assert tokens.status_code == 200, tokens.text
    assert unverified_claims(tokens.json()["access_token"])["cnf"] == {"jkt": key.jkt}
    # A proof for the token endpoint is no proof for the PAR endpoint (htu).
    wrong_endpoint = fresh_proof(services, clock, key, "POST", TOKEN_URL)
    pushed = await push(http, client, client.raw_request().params, headers=wrong_endpoint)
    assert_oauth_error(pushed, 400, "invalid_dpop_proof")
