"""Attacks on pushed and signed authorization requests: guessed, replayed or borrowed
request URIs, request URIs that point elsewhere, and request objects signed by someone
else. None of them yields a redirect with a code, or a redirect anywhere unregistered."""

from __future__ import annotations

import secrets

import httpx
import pytest

from identity_service.api.deps import IdentityServices
from tests.identity_service.oidc.high_assurance import KeyHoldingClient, new_private_key, push
from tests.identity_service.oidc.support import Browser, FakeClock, query_of
from tests.security.adversary import assert_page_without_redirect

pytestmark = pytest.mark.anyio


def _by_reference(client_id: str, request_uri: str, **extra: str) -> str:
    params = httpx.QueryParams({"client_id": client_id, "request_uri": request_uri, **extra})
    return f"/authorize?{params}"


async def test_request_uris_cannot_be_guessed_replayed_or_borrowed(
    http: httpx.AsyncClient, browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    owner = KeyHoldingClient(services, clock, require_pushed_authorization_requests=True)
    attacker = KeyHoldingClient(services, clock, client_id="ke-tan-cong")
    request_uri = (await push(http, owner, owner.raw_request().params)).json()["request_uri"]
    attempts = {
        "guessed": _by_reference(
            owner.client_id, "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(32)
        ),
        "borrowed by another client": _by_reference(attacker.client_id, request_uri),
    }
    for label, url in attempts.items():
        response = await browser.open(url)
        assert response.status_code == 400, label
        assert "location" not in response.headers, label
    # The borrowing attempt consumed the reference: the owner must push again.
    assert_page_without_redirect(
        await browser.open(_by_reference(owner.client_id, request_uri)), 400
    )

    fresh = (await push(http, owner, owner.raw_request().params)).json()["request_uri"]
    first = await browser.open(_by_reference(owner.client_id, fresh))
    assert first.status_code == 200  # the login page
    assert_page_without_redirect(await browser.open(_by_reference(owner.client_id, fresh)), 400)


async def test_a_request_uri_pointing_elsewhere_is_never_fetched(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    for request_uri in (
        "https://evil.example/request.jwt",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ):
        request = client.raw_request(request_uri=request_uri)
        answer = query_of((await browser.open(request.url)).headers["location"])
        assert answer["error"] == "request_uri_not_supported", request_uri
        assert "code" not in answer


async def test_a_request_object_signed_by_another_party_cannot_redirect_elsewhere(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    evil = {**client.raw_request().params, "redirect_uri": "https://evil.example/cb"}
    for label, request_object in {
        "attacker's key": client.request_object(evil, key=new_private_key("ES256")),
        "unsigned": client.request_object(evil, alg="none"),
        "genuine but unregistered redirect": client.request_object(evil),
    }.items():
        params = httpx.QueryParams({"client_id": client.client_id, "request": request_object})
        response = await browser.open(f"/authorize?{params}")
        assert response.status_code == 400, label
        assert "location" not in response.headers, label
