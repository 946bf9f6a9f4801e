"""The token endpoint: code redemption, PKCE, client authentication, replay, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from identity_service.oidc.registration import ClientRegistration
from identity_service.tokens import TokenService
from tests.identity_service.oidc.support import (
    CLINIC,
    CLINIC_REDIRECT,
    CLINIC_SECRET,
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    RawRequest,
    basic_auth,
    obtain_code,
    raw_request,
)

pytestmark = pytest.mark.anyio

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY_PORTAL_REDIRECT = "https://hoso.example.vn/callback"


def redemption(request: RawRequest, code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.params["redirect_uri"],
        "code_verifier": request.code_verifier,
        **extra,
    }


async def login_code(browser: Browser, citizen: DemoCredential, request: RawRequest) -> str:
    return await obtain_code(browser, request, citizen.personal_id_number, citizen.password)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body.get("error_description", ""), str)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    return body


async def test_code_redemption_returns_signed_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    request = raw_request()
    code = await login_code(browser, demo[1], request)
    response = await http.post(
        "/token",
        data=redemption(request, code),
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"] == "openid profile"
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256"  # the portal registered none: OIDC's default
    claims = jwt.decode(
        body["id_token"],
        services.keys.public_key(header["kid"]),
        algorithms=["RS256"],
        audience=PUBLIC_SERVICES,
        issuer=ISSUER,
    )
    assert claims["nonce"] == request.params["nonce"]
    assert claims["acr"] == "urn:natid:acr:level1" and claims["amr"] == ["pwd"]
    assert claims["at_hash"] == TokenService.left_half_hash(body["access_token"], "RS256")
    assert {"auth_time", "sid", "sub"} <= set(claims)
    assert claims["sub"] != demo[1].personal_id_number
    access = jwt.get_unverified_header(body["access_token"])
    assert access["typ"] == "at+jwt" and access["alg"] == "ES256"


async def test_client_secret_post_and_the_clients_algorithm(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request(CLINIC, CLINIC_REDIRECT)
    code = await login_code(browser, demo[1], request)
    response = await http.post(
        "/token",
        data=redemption(request, code, client_id=CLINIC, client_secret=CLINIC_SECRET),
    )
    assert response.status_code == 200, response.text
    assert jwt.get_unverified_header(response.json()["id_token"])["alg"] == "EdDSA"


async def test_a_code_works_once_and_its_replay_revokes_the_tokens(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request()
    code = await login_code(browser, demo[1], request)
    auth = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    first = await http.post("/token", data=redemption(request, code), headers=auth)
    access_token = first.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert (await http.get("/userinfo", headers=bearer)).status_code == 200
    replay = await http.post("/token", data=redemption(request, code), headers=auth)
    assert_oauth_error(replay, 400, "invalid_grant")
    revoked = await http.get("/userinfo", headers=bearer)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"code_verifier": None}, 400, "invalid_request"),
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
        ({"code_verifier": "short"}, 400, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:8101/auth/callback/other"}, 400, "invalid_grant"),
        ({"redirect_uri": None}, 400, "invalid_request"),
        ({"code": "made-up-code"}, 400, "invalid_grant"),
        ({"code": None}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "unauthorized_client"),
        ({"grant_type": None}, 400, "invalid_request"),
    ],
)
async def test_bad_redemptions_are_refused(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    change: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    request = raw_request()
    code = await login_code(browser, demo[1], request)
    data = {k: v for k, v in {**redemption(request, code), **change}.items() if v is not None}
    response = await http.post(
        "/token", data=data, headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    )
    assert_oauth_error(response, status, error)


async def test_a_code_issued_to_another_client_is_refused(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request()  # issued to the public-services portal
    code = await login_code(browser, demo[1], request)
    stolen = await http.post(
        "/token",
        data=redemption(request, code, client_id=CLINIC, client_secret=CLINIC_SECRET),
    )
    assert_oauth_error(stolen, 400, "invalid_grant")


async def test_an_expired_code_is_refused(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    request = raw_request()
    code = await login_code(browser, demo[1], request)
    clock.advance(61)
    response = await http.post(
        "/token",
        data=redemption(request, code),
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    assert_oauth_error(response, 400, "invalid_grant")


@pytest.mark.parametrize(
    "headers_and_form",
    [
        ({**basic_auth(PUBLIC_SERVICES, "wrong-secret")}, {}),
        ({**basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET[:-1])}, {}),
        ({**basic_auth("no-such-client", PUBLIC_SERVICES_SECRET)}, {}),
        ({}, {"client_id": PUBLIC_SERVICES, "client_secret": PUBLIC_SERVICES_SECRET}),
        ({}, {"client_id": PUBLIC_SERVICES}),
        ({}, {}),
        ({"Authorization": "Basic !!!not-base64"}, {}),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, {}),
    ],
)
async def test_client_authentication_failures_are_invalid_client(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    headers_and_form: tuple[dict[str, str], dict[str, str]],
) -> None:
    headers, form = headers_and_form
    request = raw_request()
    code = await login_code(browser, demo[1], request)
    response = await http.post("/token", data=redemption(request, code, **form), headers=headers)
    body = assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert body["error_description"] == "client authentication failed"


async def test_two_authentication_methods_at_once_are_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/token",
        data={"grant_type": "authorization_code", "client_secret": PUBLIC_SERVICES_SECRET},
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_malformed_bodies_get_oauth_errors_not_500(http: httpx.AsyncClient) -> None:
    auth = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    as_json = await http.post("/token", json={"grant_type": "authorization_code"}, headers=auth)
    assert_oauth_error(as_json, 400, "invalid_request")
    repeated = await http.post(
        "/token",
        content="grant_type=authorization_code&code=a&code=b",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(repeated, 400, "invalid_request")
    garbage = await http.post(
        "/token",
        content=b"\xff\xfe%%%&&==\x00",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code in (400, 401)
    assert "error" in garbage.json()


async def test_a_public_client_redeems_with_pkce_only(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    client = services.clients.register(
        ClientRegistration(
            name="Mobile app",
            redirect_uris=("http://127.0.0.1:7000/cb",),
            scopes=("openid", "profile"),
            token_endpoint_auth_method="none",
        )
    ).client
    request = raw_request(client.client_id, "http://127.0.0.1:7000/cb")
    code = await login_code(browser, demo[1], request)
    wrong = await http.post(
        "/token", data=redemption(request, code, client_id=client.client_id, code_verifier="y" * 50)
    )
    assert_oauth_error(wrong, 400, "invalid_grant")
    code = await login_code(
        browser, demo[1], raw_request(client.client_id, "http://127.0.0.1:7000/cb")
    )
    # A confidential client cannot pretend to be public by leaving out its secret.
    confidential = await http.post(
        "/token", data=redemption(request, code, client_id=PUBLIC_SERVICES)
    )
    assert_oauth_error(confidential, 401, "invalid_client")


class KeyPortal:
    """A portal registered for private_key_jwt with an EC P-256 key."""

    def __init__(self, services: IdentityServices) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = {**public_jwk_members(self.key.public_key()), "kid": "portal-key-1", "use": "sig"}
        self.client_id = services.clients.register(
            ClientRegistration(
                name="Hồ sơ portal",
                redirect_uris=(KEY_PORTAL_REDIRECT,),
                scopes=("openid", "profile"),
                token_endpoint_auth_method="private_key_jwt",
                jwks={"keys": [jwk]},
                id_token_signed_response_alg="ES256",
            )
        ).client.client_id

    def assertion(self, *, key: Any = None, headers: dict | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": f"{ISSUER}/token",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            key or self.key,
            algorithm="ES256",
            headers={"kid": "portal-key-1", **(headers or {})},
        )

    def form(self, request: RawRequest, code: str, assertion: str) -> dict[str, str]:
        return redemption(
            request, code, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion
        )


async def test_private_key_jwt_authenticates_and_its_jti_works_once(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    portal = KeyPortal(services)
    request = raw_request(portal.client_id, KEY_PORTAL_REDIRECT)
    code = await login_code(browser, demo[1], request)
    assertion = portal.assertion(aud=ISSUER)  # the issuer is an accepted audience too
    response = await http.post("/token", data=portal.form(request, code, assertion))
    assert response.status_code == 200, response.text
    assert jwt.get_unverified_header(response.json()["id_token"])["alg"] == "ES256"
    request = raw_request(portal.client_id, KEY_PORTAL_REDIRECT)
    code = await login_code(browser, demo[1], request)
    replayed = await http.post("/token", data=portal.form(request, code, assertion))
    assert_oauth_error(replayed, 401, "invalid_client")


def _part(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(payload: dict[str, Any]) -> str:
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(payload)}."


def _hmac_signed(payload: dict[str, Any], secret: bytes) -> str:
    """The key-confusion attack: HS256 with the public key as the HMAC secret."""
    signing_input = f"{_part({'alg': 'HS256', 'kid': 'portal-key-1'})}.{_part(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_part(signature)}"


@pytest.mark.parametrize(
    "forge",
    [
        "wrong_key",
        "expired",
        "too_long_lived",
        "wrong_audience",
        "wrong_subject",
        "no_jti",
        "alg_none",
        "hs256_with_public_key",
        "not_a_jwt",
        "unknown_kid",
    ],
)
async def test_forged_client_assertions_are_refused(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    forge: str,
) -> None:
    portal = KeyPortal(services)
    request = raw_request(portal.client_id, KEY_PORTAL_REDIRECT)
    code = await login_code(browser, demo[1], request)
    now = int(time.time())
    assertion = {
        "wrong_key": lambda: portal.assertion(key=ec.generate_private_key(ec.SECP256R1())),
        "expired": lambda: portal.assertion(iat=now - 600, exp=now - 300),
        "too_long_lived": lambda: portal.assertion(exp=now + 7 * 24 * 3600),
        "wrong_audience": lambda: portal.assertion(aud="https://other-idp.example.com/token"),
        "wrong_subject": lambda: portal.assertion(sub="someone-else"),
        "no_jti": lambda: portal.assertion(jti=None),
        "alg_none": lambda: _unsigned(
            {
                "iss": portal.client_id,
                "sub": portal.client_id,
                "aud": f"{ISSUER}/token",
                "exp": now + 60,
                "jti": "x",
            }
        ),
        "hs256_with_public_key": lambda: _hmac_signed(
            {
                "iss": portal.client_id,
                "sub": portal.client_id,
                "aud": f"{ISSUER}/token",
                "exp": now + 60,
                "jti": "y",
            },
            json.dumps(public_jwk_members(portal.key.public_key())).encode(),
        ),
        "not_a_jwt": lambda: "this.is.not-a-jwt",
        "unknown_kid": lambda: portal.assertion(headers={"kid": "injected-kid"}),
    }[forge]()
    response = await http.post("/token", data=portal.form(request, code, assertion))
    assert_oauth_error(response, 401, "invalid_client")
