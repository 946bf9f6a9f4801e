"""DPoP (RFC 9449): proofs at the token endpoint bind tokens to a key, and every endpoint
that takes a bound token wants a proof by that key (userinfo, the e-KYC API), reports the
binding (introspection), or keeps it (refresh, codes bound with ``dpop_jkt``)."""

from __future__ import annotations

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.oidc.dpop import DpopNonces, normalized_url
from identity_service.oidc.registration import ClientRegistration
from tests.identity_service.oidc.high_assurance import (
    KYC_URL,
    TOKEN_URL,
    USERINFO_URL,
    DpopKey,
    KeyHoldingClient,
    fresh_proof,
    plain_code,
    redeem,
    unverified_claims,
)
from tests.identity_service.oidc.lifecycle_support import assert_oauth_error
from tests.identity_service.oidc.support import Browser, FakeClock, raw_request

pytestmark = pytest.mark.anyio

PUBLIC_REDIRECT = "http://127.0.0.1:8199/callback"


async def _bound_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    citizen: DemoCredential,
    client: KeyHoldingClient,
    key: DpopKey,
) -> dict[str, str]:
    request = client.raw_request("openid profile offline_access")
    code = await plain_code(browser, request, citizen)
    response = await redeem(
        http, client, code, request, headers=fresh_proof(services, clock, key, "POST", TOKEN_URL)
    )
    assert response.status_code == 200, response.text
    assert response.headers["DPoP-Nonce"] == services.dpop.current_nonce()
    return response.json()


async def _userinfo(http: httpx.AsyncClient, scheme: str, token: str, **headers: str):
    return await http.get("/userinfo", headers={"Authorization": f"{scheme} {token}", **headers})


async def test_a_proof_binds_the_access_token_and_userinfo_wants_one_by_that_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock, dpop_bound_access_tokens=True)
    key = DpopKey()
    tokens = await _bound_tokens(http, browser, services, clock, demo[1], client, key)
    assert tokens["token_type"] == "DPoP"
    access_token = tokens["access_token"]
    assert unverified_claims(access_token)["cnf"] == {"jkt": key.jkt}

    proof = fresh_proof(services, clock, key, "GET", USERINFO_URL, access_token=access_token)
    answered = await _userinfo(http, "DPoP", access_token, **proof)
    assert answered.status_code == 200, answered.text
    assert answered.json()["sub"] == unverified_claims(access_token)["sub"]

    as_bearer = await _userinfo(http, "Bearer", access_token)
    assert_oauth_error(as_bearer, 401, "invalid_token")
    assert as_bearer.headers["www-authenticate"].startswith('DPoP realm="natid", algs="ES256')
    without_proof = await _userinfo(http, "DPoP", access_token)
    assert_oauth_error(without_proof, 401, "invalid_dpop_proof")
    other_key = fresh_proof(
        services, clock, DpopKey(), "GET", USERINFO_URL, access_token=access_token
    )
    assert_oauth_error(
        await _userinfo(http, "DPoP", access_token, **other_key), 401, "invalid_dpop_proof"
    )
    wrong_ath = fresh_proof(services, clock, key, "GET", USERINFO_URL, access_token="other")
    assert_oauth_error(
        await _userinfo(http, "DPoP", access_token, **wrong_ath), 401, "invalid_dpop_proof"
    )


async def test_a_bearer_token_sent_with_the_dpop_scheme_is_refused(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    request = client.raw_request()
    code = await plain_code(browser, request, demo[1])
    tokens = (await redeem(http, client, code, request)).json()
    assert tokens["token_type"] == "Bearer"
    assert "cnf" not in unverified_claims(tokens["access_token"])
    proof = fresh_proof(
        services, clock, DpopKey(), "GET", USERINFO_URL, access_token=tokens["access_token"]
    )
    refused = await _userinfo(http, "DPoP", tokens["access_token"], **proof)
    assert_oauth_error(refused, 401, "invalid_token")
    assert (await _userinfo(http, "Bearer", tokens["access_token"])).status_code == 200


async def test_without_the_servers_nonce_the_client_is_told_which_to_use(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock, dpop_bound_access_tokens=True)
    key = DpopKey()
    request = client.raw_request()
    code = await plain_code(browser, request, demo[1])
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": request.code_verifier,
        **client.authentication(),
    }
    first = await http.post(
        "/token",
        data=form,
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL, nonce=None),
    )
    assert_oauth_error(first, 400, "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]
    # The retry carries the same client assertion: it was not spent by the refusal.
    retried = await http.post(
        "/token",
        data=form,
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL, nonce=nonce),
    )
    assert retried.status_code == 200, retried.text


async def test_nonces_live_two_windows_and_every_process_makes_the_same() -> None:
    clock = FakeClock(1_800_000_000.0)
    nonces = DpopNonces(b"server secret", clock=clock)
    other_process = DpopNonces(b"server secret", clock=clock)
    nonce = nonces.current()
    assert other_process.is_valid(nonce)
    clock.advance(300)
    assert nonces.is_valid(nonce) and nonces.current() != nonce
    clock.advance(300)
    assert not nonces.is_valid(nonce)
    assert not DpopNonces(b"another secret", clock=clock).is_valid(nonces.current())
    for forged in ("", "a" * 200, 42, None, nonce[:-1] + ("A" if nonce[-1] != "A" else "B")):
        assert not nonces.is_valid(forged)


def test_htu_compares_as_uris_do_without_query_or_fragment() -> None:
    expected = normalized_url("https://id.natid.test/token")
    for same in (
        "https://id.natid.test/token",
        "HTTPS://ID.NATID.TEST/token",
        "https://id.natid.test:443/token",
        "https://id.natid.test/token?x=1",
        "https://id.natid.test/token#frag",
    ):
        assert normalized_url(same) == expected, same
    for different in (
        "http://id.natid.test/token",
        "https://id.natid.test:8443/token",
        "https://id.natid.test/token/",
        "https://id.natid.test/TOKEN",
        "https://evil.example/token",
        "https://id.natid.test.evil.example/token",
        "/token",
        "https://id.natid.test:99999/token",
    ):
        assert normalized_url(different) != expected, different


async def test_a_client_registered_for_dpop_must_send_a_proof(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock, dpop_bound_access_tokens=True)
    request = client.raw_request()
    code = await plain_code(browser, request, demo[1])
    assert_oauth_error(await redeem(http, client, code, request), 400, "invalid_dpop_proof")


async def test_introspection_reports_the_binding(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    key = DpopKey()
    tokens = await _bound_tokens(http, browser, services, clock, demo[1], client, key)
    answer = await http.post(
        "/introspect", data={"token": tokens["access_token"], **client.authentication()}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": key.jkt}
    # A confidential client's refresh token is not bound (client authentication binds it).
    refresh = await http.post(
        "/introspect", data={"token": tokens["refresh_token"], **client.authentication()}
    )
    assert refresh.json()["active"] is True and "cnf" not in refresh.json()


async def test_a_public_clients_refresh_token_works_only_with_its_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client_id = services.clients.register(
        ClientRegistration(
            name="Ứng dụng di động",
            redirect_uris=(PUBLIC_REDIRECT,),
            scopes=("openid", "profile", "offline_access"),
            grant_types=("authorization_code", "refresh_token"),
            token_endpoint_auth_method="none",
            id_token_signed_response_alg="ES256",
        )
    ).client.client_id
    key = DpopKey("EdDSA")
    request = raw_request(client_id, PUBLIC_REDIRECT, "openid profile offline_access")
    code = await plain_code(browser, request, demo[1])
    exchanged = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": PUBLIC_REDIRECT,
            "code_verifier": request.code_verifier,
            "client_id": client_id,
        },
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL),
    )
    assert exchanged.status_code == 200, exchanged.text
    refresh_token = exchanged.json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}

    thief = fresh_proof(services, clock, DpopKey(), "POST", TOKEN_URL)
    assert_oauth_error(await http.post("/token", data=form, headers=thief), 400, "invalid_grant")
    assert_oauth_error(await http.post("/token", data=form), 400, "invalid_grant")
    owner = fresh_proof(services, clock, key, "POST", TOKEN_URL)
    refreshed = await http.post("/token", data=form, headers=owner)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "DPoP"
    # The rotated token stays bound to the same key.
    rotated = {**form, "refresh_token": refreshed.json()["refresh_token"]}
    thief = fresh_proof(services, clock, DpopKey(), "POST", TOKEN_URL)
    assert_oauth_error(await http.post("/token", data=rotated, headers=thief), 400, "invalid_grant")


async def test_a_confidential_client_may_refresh_with_a_new_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    tokens = await _bound_tokens(http, browser, services, clock, demo[1], client, DpopKey())
    new_key = DpopKey("PS256")
    refreshed = await http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            **client.authentication(),
        },
        headers=fresh_proof(services, clock, new_key, "POST", TOKEN_URL),
    )
    assert refreshed.status_code == 200, refreshed.text
    assert unverified_claims(refreshed.json()["access_token"])["cnf"] == {"jkt": new_key.jkt}


async def test_dpop_jkt_binds_the_code_to_a_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    key = DpopKey()
    citizen = demo[1]
    for proving_key, expected in ((DpopKey(), 400), (None, 400), (key, 200)):
        request = client.raw_request(dpop_jkt=key.jkt)
        code = await plain_code(browser, request, citizen)
        headers = (
            fresh_proof(services, clock, proving_key, "POST", TOKEN_URL) if proving_key else None
        )
        response = await redeem(http, client, code, request, headers=headers)
        assert response.status_code == expected, response.text
        if expected == 400:
            assert response.json()["error"] == "invalid_grant"
    malformed = client.raw_request(dpop_jkt="not-a-thumbprint")
    location = (await browser.open(malformed.url)).headers["location"]
    assert "error=invalid_request" in location


async def test_the_kyc_api_wants_a_proof_for_a_bound_machine_token(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    backend = KeyHoldingClient(
        services,
        clock,
        client_id="giaodich-backend",
        scopes=("kyc.verify",),
        grant_types=("client_credentials",),
        dpop_bound_access_tokens=True,
    )
    key = DpopKey()
    issued = await http.post(
        "/token",
        data={"grant_type": "client_credentials", **backend.authentication()},
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL),
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "DPoP"
    token = issued.json()["access_token"]
    body = {
        "personal_id_number": "001090012345",
        "full_name": "Nguyễn Văn An",
        "birth_date": "1990-05-17",
        "gender": "male",
    }
    proof = fresh_proof(services, clock, key, "POST", KYC_URL, access_token=token)
    checked = await http.post(
        "/api/v1/kyc/verify", json=body, headers={"Authorization": f"DPoP {token}", **proof}
    )
    assert checked.status_code == 200, checked.text
    assert checked.headers["DPoP-Nonce"] == services.dpop.current_nonce()

    replayed = await http.post(
        "/api/v1/kyc/verify", json=body, headers={"Authorization": f"DPoP {token}", **proof}
    )
    assert replayed.status_code == 401
    assert replayed.json()["type"].endswith("invalid-dpop-proof")
    assert replayed.headers["www-authenticate"].startswith('DPoP realm="natid"')
    as_bearer = await http.post(
        "/api/v1/kyc/verify", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert as_bearer.status_code == 401
    assert 'error="invalid_token"' in as_bearer.headers["www-authenticate"]
