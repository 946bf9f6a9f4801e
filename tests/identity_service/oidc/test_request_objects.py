"""Signed request objects (RFC 9101) at the authorization and PAR endpoints: only the
object's parameters count, and an object that is not the client's, not for us, or not
current is refused with ``invalid_request_object``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.oidc.high_assurance import (
    ISSUER,
    KeyHoldingClient,
    new_private_key,
    push,
    redeem,
    unverified_claims,
)
from tests.identity_service.oidc.lifecycle_support import assert_oauth_error
from tests.identity_service.oidc.support import (
    Browser,
    FakeClock,
    RawRequest,
    obtain_code,
    query_of,
)

pytestmark = pytest.mark.anyio


def _by_value(client: KeyHoldingClient, request_object: str, **outer: str) -> str:
    params = httpx.QueryParams({"client_id": client.client_id, "request": request_object, **outer})
    return f"/authorize?{params}"


async def test_the_objects_parameters_are_the_only_ones_used(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    inner = client.raw_request("openid")
    request_object = client.request_object(inner.params)
    url = _by_value(
        client,
        request_object,
        scope="openid profile offline_access",
        nonce="outer-nonce",
        response_type="code",
    )
    citizen = demo[1]
    code = await obtain_code(
        browser,
        RawRequest(query_of(url), inner.code_verifier),
        citizen.personal_id_number,
        citizen.password,
    )
    tokens = (await redeem(http, client, code, inner)).json()
    assert tokens["scope"] == "openid"
    assert unverified_claims(tokens["id_token"])["nonce"] == inner.params["nonce"]


async def test_an_object_can_be_pushed(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock, require_signed_request_object=True)
    params = client.raw_request().params
    plain = await push(http, client, params)
    assert_oauth_error(plain, 400, "invalid_request")
    signed = await push(http, client, {"request": client.request_object(params)})
    assert signed.status_code == 201, signed.text
    unsigned = await push(http, client, {"request": client.request_object(params, alg="none")})
    assert_oauth_error(unsigned, 400, "invalid_request_object")


def _refused_objects(client: KeyHoldingClient, params: dict[str, str], now: int) -> dict[str, str]:
    """Request objects that must be refused, by what is wrong with them."""
    other_key = new_private_key("ES256")

    def signed(**changes: Any) -> str:
        return client.request_object({**params, **changes})

    return {
        "signed by another key": client.request_object(params, key=other_key),
        "unsigned (alg none)": client.request_object(params, alg="none"),
        "for another audience": signed(aud="https://other-idp.example"),
        "another issuer": signed(iss="someone-else"),
        "expired": signed(exp=now - 120),
        "without exp": signed(exp=None),
        "living a day": signed(exp=now + 86400),
        "not yet valid": signed(nbf=now + 600),
        "another client_id inside": signed(client_id="public-services-portal"),
        "a request_uri inside": signed(request_uri="https://evil.example/ro.jwt"),
        "a nested request": signed(request="eyJhbGciOiJub25lIn0.e30."),
        "a prompt that is not a string": signed(prompt=["login"]),
        "typ of a client assertion": client.request_object(params, header={"typ": "at+jwt"}),
        "encrypted (JWE)": "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
        "not a JWT": "not-a-jwt",
        "padded signature": signed() + "==",
    }


async def test_refused_objects_are_invalid_request_object_errors(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    inner = client.raw_request()
    for label, request_object in _refused_objects(client, inner.params, int(clock())).items():
        url = _by_value(
            client, request_object, redirect_uri=client.redirect_uri, state="outer-state"
        )
        response = await browser.open(url)
        assert response.status_code == 303, f"{label}: {response.status_code}"
        answer = query_of(response.headers["location"])
        assert answer["error"] == "invalid_request_object", f"{label}: {answer}"
        assert answer["state"] == "outer-state", label
        assert answer["iss"] == ISSUER, label
        assert "code" not in answer, label


async def test_a_bad_object_without_a_registered_redirect_uri_gets_a_page(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    forged = client.request_object(
        {**client.raw_request().params, "redirect_uri": "https://evil.example/cb"},
        key=new_private_key("ES256"),
    )
    for outer in ({}, {"redirect_uri": "https://evil.example/cb"}):
        response = await browser.open(_by_value(client, forged, **outer))
        assert response.status_code == 400
        assert "location" not in response.headers


async def test_a_genuine_object_with_an_unregistered_redirect_uri_is_not_redirected(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = KeyHoldingClient(services, clock)
    request_object = client.request_object(
        {**client.raw_request().params, "redirect_uri": "https://evil.example/cb"}
    )
    response = await browser.open(
        _by_value(client, request_object, redirect_uri=client.redirect_uri)
    )
    assert response.status_code == 400 and "location" not in response.headers
