"""Userinfo: claims per granted scope, and refusal of every token we did not issue as-is."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.tokens import TokenService
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    obtain_code,
    raw_request,
)

pytestmark = pytest.mark.anyio


async def tokens_for(
    http: httpx.AsyncClient, browser: Browser, citizen: DemoCredential, scope: str
) -> dict[str, str]:
    request = raw_request(scope=scope)
    code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
    response = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.params["redirect_uri"],
            "code_verifier": request.code_verifier,
        },
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_claims_follow_the_granted_scopes(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]  # Lê Hoàng Nam (seeds/demo_citizens.csv)
    tokens = await tokens_for(http, browser, citizen, "openid profile")
    response = await http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    claims = response.json()
    assert set(claims) == {
        "sub",
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "birthdate",
        "gender",
    }
    assert claims["name"] == "Lê Hoàng Nam" and claims["family_name"] == "Lê"
    assert claims["birthdate"] == "1992-11-30" and claims["gender"] == "male"
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == id_token["sub"]
    assert citizen.personal_id_number not in json.dumps(claims)


async def test_every_scope_releases_its_claims(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[2]  # Nguyễn Thị Lan: head of a three-person household
    tokens = await tokens_for(http, browser, citizen, "openid national_id address phone household")
    claims = (await http.post("/userinfo", headers=bearer(tokens["access_token"]))).json()
    assert claims["national_id"] == citizen.personal_id_number
    assert claims["phone_number"] == "+84986999001"
    assert claims["phone_number_verified"] is True
    assert claims["address"]["street_address"] == "Số 12 phố Hàng Bạc"
    assert claims["address"]["country"] == "VN"
    assert claims["address"]["formatted"].startswith("Số 12 phố Hàng Bạc, ")
    assert claims["current_residence"]["region"]
    assert claims["household"] == {"id": "1", "relation_to_head": "head", "member_count": 3}
    # No other household member's data: not the spouse's or the child's ID number or name.
    text = json.dumps(claims, ensure_ascii=False)
    assert "036083999002" not in text and "001215999003" not in text and "Hùng" not in text
    assert "name" not in claims  # profile was not granted


async def test_a_request_without_a_token_gets_a_bare_challenge(http: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = await http.get("/userinfo", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="natid"'


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


async def test_forged_expired_and_foreign_tokens_are_invalid(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    clock: FakeClock,
) -> None:
    tokens = await tokens_for(http, browser, demo[1], "openid profile")
    access_token = tokens["access_token"]
    header_b64, payload_b64, signature = access_token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    header = jwt.get_unverified_header(access_token)
    attacker_key = ec.generate_private_key(ec.SECP256R1())
    candidates = {
        "garbage": "not-a-token",
        "tampered payload": f"{header_b64}.{_b64({**payload, 'scope': 'openid national_id'})}."
        + signature,
        "alg none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload_b64}.",
        "attacker key, our kid": jwt.encode(
            payload, attacker_key, algorithm="ES256", headers=header
        ),
        "ID token as access token": tokens["id_token"],
        "truncated signature": access_token[:-10],
        # Our own key, but minted for another issuer/audience.
        "wrong issuer": TokenService(services.keys, "https://evil.example.com").access_token(
            client_id=PUBLIC_SERVICES,
            subject=payload["sub"],
            scope="openid",
            ttl=60,
            jti=payload["jti"],
        ),
        "huge": "a" * 20_000,
    }
    # A token signed with our key but never recorded (no grant behind it) is refused too.
    candidates["unrecorded"] = services.tokens.access_token(
        client_id=PUBLIC_SERVICES, subject=payload["sub"], scope="openid profile", ttl=60
    )
    for name, token in candidates.items():
        response = await http.get("/userinfo", headers=bearer(token))
        assert response.status_code == 401, name
        assert 'error="invalid_token"' in response.headers["www-authenticate"], name
        assert response.json()["error"] == "invalid_token", name
    clock.advance(601)
    expired = await http.get("/userinfo", headers=bearer(access_token))
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
