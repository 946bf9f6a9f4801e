"""The client credentials grant: machine scopes only, confidential clients only, sub = client."""

from __future__ import annotations

import httpx
import jwt
import pytest

from identity_service.api.deps import IdentityServices
from identity_service.oidc.registration import ClientRegistration, ClientRegistrationError
from tests.identity_service.oidc.high_assurance import TOKEN_URL, DpopKey, fresh_proof
from tests.identity_service.oidc.lifecycle_support import (
    BANK_BACKEND,
    CLINIC_BACKEND,
    CLINIC_BACKEND_SECRET,
    assert_oauth_error,
    bank_backend_form,
    userinfo_status,
    verified,
)
from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    FakeClock,
    basic_auth,
)

pytestmark = pytest.mark.anyio
CLINIC_AUTH = basic_auth(CLINIC_BACKEND, CLINIC_BACKEND_SECRET)


async def test_a_back_end_gets_an_rfc9068_token_for_itself(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    response = await http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "kyc.verify"},
        headers=CLINIC_AUTH,
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "kyc.verify"
    assert body["expires_in"] == services.settings.access_token_ttl
    assert "refresh_token" not in body and "id_token" not in body
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = await verified(http, body["access_token"], audience=ISSUER)
    assert claims["sub"] == claims["client_id"] == CLINIC_BACKEND
    assert claims["scope"] == "kyc.verify"
    assert "acr" not in claims and "auth_time" not in claims


async def test_without_scope_the_registered_machine_scopes_are_granted(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=CLINIC_AUTH
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "kyc.verify"


async def test_the_bank_back_end_authenticates_with_private_key_jwt_and_dpop(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    without_proof = await http.post(
        "/token", data=bank_backend_form(clock, grant_type="client_credentials")
    )
    assert_oauth_error(without_proof, 400, "invalid_dpop_proof")
    key = DpopKey()
    response = await http.post(
        "/token",
        data=bank_backend_form(clock, grant_type="client_credentials"),
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL),
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    claims = await verified(http, response.json()["access_token"], audience=ISSUER)
    assert claims["sub"] == BANK_BACKEND
    assert claims["cnf"] == {"jkt": key.jkt}


@pytest.mark.parametrize(
    "scope",
    ["openid", "openid kyc.verify", "kyc.verify profile", "national_id", "offline_access", "admin"],
)
async def test_citizen_and_unknown_scopes_are_refused(http: httpx.AsyncClient, scope: str) -> None:
    response = await http.post(
        "/token", data={"grant_type": "client_credentials", "scope": scope}, headers=CLINIC_AUTH
    )
    assert_oauth_error(response, 400, "invalid_scope")


async def test_a_portal_not_registered_for_the_grant_is_unauthorized(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "kyc.verify"},
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )
    assert_oauth_error(response, 400, "unauthorized_client")


@pytest.mark.parametrize(
    "headers",
    [
        basic_auth(CLINIC_BACKEND, "wrong-secret"),
        basic_auth(CLINIC_BACKEND, CLINIC_BACKEND_SECRET + "x"),
        {},
    ],
)
async def test_wrong_or_missing_credentials_are_invalid_client(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data = {"grant_type": "client_credentials", "scope": "kyc.verify"}
    if not headers:
        data["client_id"] = CLINIC_BACKEND  # a public client would need no secret
    response = await http.post("/token", data=data, headers=headers)
    assert_oauth_error(response, 401, "invalid_client")


async def test_a_machine_token_opens_no_citizen_data(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=CLINIC_AUTH
    )
    assert await userinfo_status(http, response.json()["access_token"]) == 401


async def test_issuance_is_audited_without_the_token(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    response = await http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=CLINIC_AUTH
    )
    token = response.json()["access_token"]
    entry = services.audit.tail(1)[0]
    assert entry.event == "token.issued" and entry.client_id == CLINIC_BACKEND
    assert entry.details["grant_type"] == "client_credentials"
    assert entry.details["jti"] == jwt.decode(token, options={"verify_signature": False})["jti"]
    assert token not in str(entry.details) and entry.actor is None
    metrics = (await http.get("/metrics")).text
    assert 'natid_tokens_issued_total{grant_type="client_credentials"} 1.0' in metrics


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"token_endpoint_auth_method": "none"}, "confidential"),
        ({"grant_types": ("authorization_code",), "redirect_uris": ("https://a.vn/cb",)}, "openid"),
        ({"scopes": ("openid", "kyc.verify")}, "authorization_code"),
        ({"scopes": ()}, "machine scope"),
    ],
)
def test_registration_keeps_machine_and_citizen_grants_apart(
    services: IdentityServices, changes: dict[str, object], message: str
) -> None:
    base = {
        "name": "A back-end",
        "redirect_uris": (),
        "scopes": ("kyc.verify",),
        "grant_types": ("client_credentials",),
    }
    with pytest.raises(ClientRegistrationError, match=message):
        services.clients.register(ClientRegistration(**{**base, **changes}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=kyc.verify&scope=kyc.verify",  # repeated
        b"grant_type=client_credentials&scope=%FF%FE",  # not UTF-8 once decoded
        "grant_type=client_credentials&scope=kyc.verify&x=\u00e9".encode(),  # raw non-ASCII
        b"grant_type=client_credentials&" + b"&".join(b"f%d=1" % n for n in range(300)),
    ],
)
async def test_a_form_that_is_not_one_clean_urlencoded_form_is_invalid_request(
    http: httpx.AsyncClient, body: bytes
) -> None:
    response = await http.post(
        "/token",
        content=body,
        headers={**CLINIC_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_form_values_are_percent_and_plus_decoded(http: httpx.AsyncClient) -> None:
    # "kyc.verify" spelled with percent escapes, and a blank parameter counted as omitted.
    response = await http.post(
        "/token",
        content=b"grant_type=client%5Fcredentials&scope=kyc%2Everify&client_id=",
        headers={**CLINIC_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "kyc.verify"
