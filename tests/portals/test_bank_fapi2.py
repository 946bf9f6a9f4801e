"""The bank logs citizens in under the FAPI 2.0 profile, through its OIDC client: the
request is pushed (PAR) with a signed client assertion naming the issuer, the browser
carries only a reference, and the tokens are bound to the bank's DPoP key."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi import FastAPI

from identity_service.jwk import jwk_thumbprint
from tests.portals.support import BANK, IDP, Browser, Citizen, FakeClock, Network, log_in

pytestmark = pytest.mark.anyio


def _unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_the_banks_login_is_pushed_signed_and_sender_constrained(
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await log_in(browser, f"{BANK}/open-account", citizens[2], clock)
    assert page.status_code == 200 and "urn:natid:acr:level2" in page.text

    pushes = network.requests_to(IDP, "/par")
    assert pushes, "the bank did not push its authorization request"
    pushed = parse_qs(pushes[-1].content.decode())
    assert pushed["code_challenge_method"] == ["S256"]
    assert pushed["redirect_uri"] == [f"{BANK}/auth/callback"]
    assertion = _unverified(pushed["client_assertion"][0])
    assert assertion["aud"] == IDP and assertion["iss"] == "demo-bank"
    assert "client_secret" not in pushed

    authorize = [request for request in network.log if request.url.path == "/authorize"]
    assert authorize, "the browser never reached /authorize"
    assert set(parse_qs(urlsplit(str(authorize[0].url)).query)) == {"client_id", "request_uri"}

    exchanges = [
        request
        for request in network.requests_to(IDP, "/token")
        if b"authorization_code" in request.content
    ]
    assert exchanges and all("dpop" in request.headers for request in exchanges)
    (userinfo,) = network.requests_to(IDP, "/userinfo")
    assert userinfo.headers["authorization"].startswith("DPoP ")
    access_token = userinfo.headers["authorization"].removeprefix("DPoP ")
    proof_key = jwt.get_unverified_header(userinfo.headers["dpop"])["jwk"]
    assert "d" not in proof_key
    assert _unverified(access_token)["cnf"]["jkt"] == jwk_thumbprint(proof_key)
