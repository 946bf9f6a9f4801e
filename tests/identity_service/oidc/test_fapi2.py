"""The per-client FAPI 2.0 switch: what a registration must be, and what the profile
enforces at run time (PAR, DPoP, the issuer as assertion audience, PS256/ES256/EdDSA,
60-second codes, refresh without rotation)."""

from __future__ import annotations

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from identity_service.oidc.registration import (
    ClientRegistration,
    ClientRegistrationError,
    validate_registration,
)
from tests.identity_service.oidc.high_assurance import (
    ISSUER,
    PAR_URL,
    TOKEN_URL,
    DpopKey,
    KeyHoldingClient,
    code_through_par,
    fresh_proof,
    new_private_key,
    push,
    redeem,
)
from tests.identity_service.oidc.lifecycle_support import assert_oauth_error
from tests.identity_service.oidc.support import Browser, FakeClock, query_of

pytestmark = pytest.mark.anyio

_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "4mPP-tebomvxAN_azQKDgM2n89VLmAtQa8ryCZaJIzs",
    "y": "c9611Ftu3GJw_AJePtDXlbfoZvHY4HV20N7j9spSoDk",
}


def _rsa_jwk() -> dict[str, str]:
    return public_jwk_members(new_private_key("RS256").public_key())


def _registration(**changes: object) -> ClientRegistration:
    fields: dict[str, object] = {
        "name": "Ngân hàng",
        "redirect_uris": ("https://bank.example.vn/cb",),
        "scopes": ("openid", "profile"),
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [_KEY]},
        "id_token_signed_response_alg": "ES256",
        "fapi2": True,
        **changes,
    }
    return ClientRegistration(**fields)  # type: ignore[arg-type]


def test_the_switch_implies_par_and_dpop() -> None:
    valid = validate_registration(_registration())
    assert valid.require_pushed_authorization_requests
    assert valid.dpop_bound_access_tokens


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"token_endpoint_auth_method": "client_secret_basic", "jwks": None}, "private_key_jwt"),
        ({"token_endpoint_auth_method": "none", "jwks": None}, "private_key_jwt"),
        ({"id_token_signed_response_alg": "RS256"}, "not RS256"),
        ({"id_token_signed_response_alg": None}, "not RS256"),
        ({"jwks": {"keys": [{**_rsa_jwk(), "alg": "RS256"}]}}, "not RS256"),
    ],
)
def test_a_fapi2_client_must_be_confidential_with_modern_algorithms(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ClientRegistrationError, match=message):
        validate_registration(_registration(**changes))


async def _fapi2_client(services: IdentityServices, clock: FakeClock) -> KeyHoldingClient:
    return KeyHoldingClient(services, clock, client_id="nganhang", fapi2=True)


async def test_the_whole_flow_under_the_profile(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = await _fapi2_client(services, clock)
    key = DpopKey()
    code, request = await code_through_par(
        http,
        browser,
        client,
        demo[1],
        scope="openid profile offline_access",
        dpop_headers=fresh_proof(services, clock, key, "POST", PAR_URL),
    )
    tokens = await redeem(
        http, client, code, request, headers=fresh_proof(services, clock, key, "POST", TOKEN_URL)
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "DPoP"

    # Refresh without rotation: the same token works again, as a retry must.
    refresh_form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    for _ in range(2):
        refreshed = await http.post(
            "/token",
            data={**refresh_form, **client.authentication()},
            headers=fresh_proof(services, clock, key, "POST", TOKEN_URL),
        )
        assert refreshed.status_code == 200, refreshed.text
        assert "refresh_token" not in refreshed.json()
        assert refreshed.json()["token_type"] == "DPoP"
    # Revoking the refresh token revokes every access token it produced.
    revoked = await http.post(
        "/revoke",
        data={"token": body["refresh_token"], **client.authentication()},
    )
    assert revoked.status_code == 200
    last_access_token = refreshed.json()["access_token"]
    introspected = await http.post(
        "/introspect", data={"token": last_access_token, **client.authentication()}
    )
    assert introspected.json() == {"active": False}


async def test_a_plain_authorization_request_is_refused(
    browser: Browser, services: IdentityServices, clock: FakeClock
) -> None:
    client = await _fapi2_client(services, clock)
    answer = query_of((await browser.open(client.raw_request().url)).headers["location"])
    assert answer["error"] == "invalid_request"


async def test_only_the_issuer_as_a_string_is_an_assertions_audience(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    client = await _fapi2_client(services, clock)
    params = client.raw_request().params
    for audience in (TOKEN_URL, PAR_URL, [ISSUER], [ISSUER, TOKEN_URL], ISSUER + "/"):
        refused = await push(http, client, params, audience=audience)
        assert_oauth_error(refused, 401, "invalid_client")
    assert (await push(http, client, params)).status_code == 201


async def test_rs256_is_refused_for_assertions_and_proofs(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    # An RSA key registered without alg: usable for PS256, never for RS256.
    client = KeyHoldingClient(services, clock, client_id="nganhang-rsa", alg="PS256", fapi2=True)
    client.alg = "RS256"
    refused = await push(http, client, client.raw_request().params)
    assert_oauth_error(refused, 401, "invalid_client")
    client.alg = "PS256"
    code, request = await code_through_par(http, browser, client, demo[1])
    rs256_proof = fresh_proof(services, clock, DpopKey("RS256"), "POST", TOKEN_URL)
    assert_oauth_error(
        await redeem(http, client, code, request, headers=rs256_proof), 400, "invalid_dpop_proof"
    )


async def test_a_token_request_without_a_proof_is_refused(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = await _fapi2_client(services, clock)
    code, request = await code_through_par(http, browser, client, demo[1])
    assert_oauth_error(await redeem(http, client, code, request), 400, "invalid_dpop_proof")


async def test_codes_live_at_most_sixty_seconds(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    object.__setattr__(services.settings, "authorization_code_ttl", 600)
    codes = services.code_grant._codes  # the settings were read at start; widen the store's
    codes._ttl = 600
    client = await _fapi2_client(services, clock)
    code, request = await code_through_par(http, browser, client, demo[1])
    clock.advance(61)
    late = await redeem(
        http,
        client,
        code,
        request,
        headers=fresh_proof(services, clock, DpopKey(), "POST", TOKEN_URL),
    )
    assert_oauth_error(late, 400, "invalid_grant")
