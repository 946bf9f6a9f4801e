"""The bank back-end's e-KYC check of account applications, against the real IdP.

The back-end gets its access token by client credentials with ``private_key_jwt`` (the
DEMO key registered in ``seeds/clients.toml``), calls the verify API, checks the signed
answer against the IdP's JWKS and shows it. Forged, misdirected and stale answers are
made here with the IdP's own keys (tests may use them) or with keys it never published.
"""

from __future__ import annotations

import json
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from identity_service.api.deps import IdentityServices
from portals.bank.app import create_app as create_bank
from portals.bank.keys import load_backend_key, public_jwks, thumbprint
from portals.bank.settings import BankSettings
from tests.portals.conftest import CLIENT_SEEDS
from tests.portals.support import BANK, IDP, Browser, Citizen, FakeClock, Network, log_in

pytestmark = pytest.mark.anyio
BACKEND = "demo-bank-backend"
KYC_PATH = "/api/v1/kyc/verify"
REFERENCE = re.compile(r"TK-\d{8}-[0-9A-F]{8}")


async def apply(
    browser: Browser, citizen: Citizen, clock: FakeClock, **form: str
) -> httpx.Response:
    """Log in at level 2, send an application; the application's page comes back."""
    page = await log_in(browser, f"{BANK}/open-account", citizen, clock)
    return await browser.submit(
        page, "/open-account", account_type="payment_vnd", terms="accepted", **form
    )


def client_credentials_posts(network: Network) -> list[dict[str, list[str]]]:
    """Every client-credentials POST, nonce retries included."""
    bodies = [parse_qs(request.content.decode()) for request in network.requests_to(IDP, "/token")]
    return [body for body in bodies if body.get("grant_type") == ["client_credentials"]]


def client_credentials_requests(network: Network) -> list[dict[str, list[str]]]:
    """One per token fetch: a retry with the server's DPoP nonce resends the same body."""
    fetches: dict[str, dict[str, list[str]]] = {}
    for body in client_credentials_posts(network):
        fetches.setdefault(body["client_assertion"][0], body)
    return list(fetches.values())


def answer_claims(page: httpx.Response, services: IdentityServices) -> dict[str, Any]:
    """The JWS shown on the page, verified here independently with the IdP's key."""
    found = re.search(r'<pre class="jws"><code>([A-Za-z0-9_\-.]+)</code></pre>', page.text)
    assert found is not None, page.text
    header = jwt.get_unverified_header(found.group(1))
    assert header["typ"] == "kyc-result+jwt"
    public_key = services.keys.published_key(header["kid"])
    assert public_key is not None
    return jwt.decode(
        found.group(1),
        public_key.public_key,
        algorithms=[header["alg"]],
        audience=BACKEND,
        options={"verify_iat": False},  # the tests' clock runs ahead of the real one
    )


async def test_an_application_is_verified_with_a_signed_answer_shown_on_its_page(
    bank: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await apply(browser, citizens[2], clock)

    assert page.status_code == 200
    assert REFERENCE.search(str(page.url))
    assert "Đã xác minh, tài khoản đang được mở" in page.text
    assert page.text.count('<dd class="kyc-flag">Khớp</dd>') == 3
    claims = answer_claims(page, idp_services)
    assert claims["iss"] == IDP and claims["aud"] == BACKEND
    assert claims["result"] == "match" and claims["level"] == 1
    assert claims["jti"] in page.text  # the transaction id
    # The token came by client credentials with a signed client assertion, no secret, and
    # a DPoP proof: the first proof lacked the server's nonce and was refused; the retry
    # carried the same assertion, unspent.
    first, token_request = client_credentials_posts(network)
    assert first["client_assertion"] == token_request["client_assertion"]
    proofs = [request.headers["dpop"] for request in network.requests_to(IDP, "/token")]
    assert "nonce" not in jwt.decode(proofs[-2], options={"verify_signature": False})
    assert "nonce" in jwt.decode(proofs[-1], options={"verify_signature": False})
    assert token_request["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assertion = jwt.get_unverified_header(token_request["client_assertion"][0])
    assert assertion["alg"] == "ES256" and assertion["kid"]
    assert token_request["scope"] == ["kyc.verify"]
    assert "client_secret" not in token_request
    # What the back-end sent: the application's data, and nothing it did not hold.
    (kyc_call,) = network.requests_to(IDP, KYC_PATH)
    assert kyc_call.headers["authorization"].startswith("DPoP ")
    assert jwt.decode(kyc_call.headers["dpop"], options={"verify_signature": False})["ath"]
    sent = json.loads(kyc_call.content)
    assert set(sent) == {"personal_id_number", "full_name", "birth_date", "gender"}
    assert sent["personal_id_number"] == citizens[2].personal_id_number
    assert sent["full_name"] == citizens[2].full_name


async def test_the_customers_one_time_code_makes_it_a_level2_answer(
    bank: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
) -> None:
    citizen = citizens[2]
    page = await log_in(browser, f"{BANK}/open-account", citizen, clock)
    clock.advance(31)  # a fresh code: the one used at login is spent
    assert citizen.totp_secret is not None
    code = pyotp.TOTP(citizen.totp_secret).at(clock())

    page = await browser.submit(
        page, "/open-account", account_type="savings_vnd", terms="accepted", otp=code
    )

    assert "Đã xác minh" in page.text
    assert answer_claims(page, idp_services)["level"] == 2
    assert "Mức 2 · có mã OTP của bạn" in page.text


async def test_a_malformed_one_time_code_is_refused_before_anything_is_sent(
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await apply(browser, citizens[2], clock, otp="12ab56")

    assert page.status_code == 400
    assert "Mã OTP gồm đúng 6 chữ số" in page.text
    assert network.requests_to(IDP, KYC_PATH) == []


async def test_the_access_token_is_reused_until_shortly_before_it_expires(
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await apply(browser, citizens[2], clock)
    for _ in range(2):
        page = await browser.submit(
            await browser.get(f"{BANK}/open-account"),
            "/open-account",
            account_type="payment_vnd",
            terms="accepted",
        )
        assert "Đã xác minh" in page.text
    assert len(client_credentials_requests(network)) == 1
    assert len(network.requests_to(IDP, KYC_PATH)) == 3

    clock.advance(600 - 20)  # within the renewal margin of the 600-second token
    page = await browser.submit(
        await browser.get(f"{BANK}/open-account"),
        "/open-account",
        account_type="payment_vnd",
        terms="accepted",
    )

    assert "Đã xác minh" in page.text
    assert len(client_credentials_requests(network)) == 2


async def test_details_the_register_does_not_confirm_reject_the_application(
    bank: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    def outdated_name(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        # The bank holds a name the register does not have (say, copied before a change).
        if request.url.path != "/userinfo":
            return response
        claims = {**response.json(), "name": "Trần Thị Không Khớp"}
        return httpx.Response(200, json=claims, request=request)

    network.response_hooks.append(outdated_name)

    page = await apply(browser, citizens[2], clock)

    assert "Bị từ chối" in page.text
    assert "thông tin trong yêu cầu không khớp với Cơ sở dữ liệu quốc gia về dân cư" in page.text
    assert "Không khớp: Họ và tên." in page.text
    claims = answer_claims(page, idp_services)
    assert claims["result"] == "no_match"
    assert claims["matched"] == {"full_name": False, "birth_date": True, "gender": True}
    assert 'action="/applications/' not in page.text  # no retry for a decided application


def replace_answer(
    network: Network, make_jws: Callable[[dict[str, Any], dict[str, Any]], str]
) -> None:
    """Swap the verify API's signed answer on the wire for ``make_jws(header, claims)``."""

    def swap(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != KYC_PATH or response.status_code != 200:
            return response
        body = response.json()
        header = jwt.get_unverified_header(body["result_jws"])
        claims = jwt.decode(body["result_jws"], options={"verify_signature": False})
        body["result_jws"] = make_jws(header, claims)
        return httpx.Response(200, json=body, request=request)

    network.response_hooks.append(swap)


def forged_key_answer(_services: IdentityServices) -> Callable[..., str]:
    forger = ec.generate_private_key(ec.SECP256R1())

    def make(header: dict[str, Any], claims: dict[str, Any]) -> str:
        return jwt.encode(claims, forger, algorithm="ES256", headers=header)

    return make


def idp_signed_answer(
    header_changes: dict[str, Any] | None = None, **claim_changes: Any
) -> Callable[[IdentityServices], Callable[..., str]]:
    def factory(services: IdentityServices) -> Callable[..., str]:
        def make(header: dict[str, Any], claims: dict[str, Any]) -> str:
            key = services.keys.signing_key("ES256")
            new_header = {**header, "kid": key.kid, **(header_changes or {})}
            new_claims = {**claims, **claim_changes}
            return jwt.encode(new_claims, key.private_key, algorithm="ES256", headers=new_header)

        return make

    return factory


@pytest.mark.parametrize(
    ("make_factory", "why"),
    [
        (forged_key_answer, "bad signature"),
        (idp_signed_answer(aud="demo-clinic-backend"), "not issued to this portal"),
        (idp_signed_answer({"typ": "JWT"}), "typ"),
        (idp_signed_answer(iat=1_000_000_000), "stale"),
        (idp_signed_answer(jti="another-transaction"), "transaction id"),
        (
            idp_signed_answer(matched={"full_name": False, "birth_date": True, "gender": True}),
            "does not agree",
        ),
        (idp_signed_answer(level=2), "level 2"),
        (idp_signed_answer(query_sha256="another-querys-digest"), "another query"),
    ],
)
async def test_an_answer_that_fails_verification_is_not_trusted(
    bank: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
    make_factory: Callable[[IdentityServices], Callable[..., str]],
    why: str,
) -> None:
    replace_answer(network, make_factory(idp_services))

    page = await apply(browser, citizens[2], clock)

    assert "Chờ đối chiếu thông tin" in page.text  # neither verified nor rejected
    assert "không qua được kiểm tra chữ ký số" in page.text
    assert why in page.text  # the technical detail
    assert '<pre class="jws">' not in page.text  # an untrusted answer is not shown as one
    assert "Đã xác minh" not in page.text


async def test_an_unavailable_service_leaves_the_application_pending_for_a_retry(
    bank: FastAPI,
    idp_services: IdentityServices,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    def overloaded(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != KYC_PATH:
            return response
        return httpx.Response(429, headers={"Retry-After": "7"}, request=request)

    network.response_hooks.append(overloaded)
    page = await apply(browser, citizens[2], clock)
    assert "Chờ đối chiếu thông tin" in page.text
    assert "dịch vụ e-KYC tạm thời không trả lời" in page.text

    network.response_hooks.clear()
    page = await browser.submit(page, "/kyc-check")

    assert "Đã xác minh, tài khoản đang được mở" in page.text
    assert answer_claims(page, idp_services)["result"] == "match"
    assert "Các lần đối chiếu trước" in page.text


async def test_the_bank_publishes_the_public_keys_registered_for_its_two_clients(
    bank: FastAPI, browser: Browser
) -> None:
    answer = await browser.get(f"{BANK}/.well-known/jwks.json")

    assert answer.status_code == 200
    published = answer.json()
    assert all("d" not in key for key in published["keys"])
    registrations = tomllib.loads(CLIENT_SEEDS.read_text())["client"]
    registered = [
        key
        for client in registrations
        if client["client_id"] in ("demo-bank", BACKEND)
        for key in client["jwks"]["keys"]
    ]
    assert sorted(published["keys"], key=lambda key: key["kid"]) == sorted(
        registered, key=lambda key: key["kid"]
    )


def test_a_configured_key_file_is_generated_once_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "bank-backend.json"

    created = load_backend_key(path)
    again = load_backend_key(path)

    assert created == again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert created["kid"] == thumbprint(created) and created["alg"] == "ES256"
    (public,) = public_jwks(created)["keys"]
    assert "d" not in public and public["x"] == created["x"]


async def test_a_key_the_idp_does_not_know_gets_a_refused_check_not_a_verdict(
    tmp_path: Path,
    idp: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    settings = BankSettings(
        client_id="demo-bank",
        client_secret="demo-secret-demo-bank-not-for-production",
        base_url=BANK,
        issuer=IDP,
        data_dir=tmp_path / "bank",
        session_secret="bank-with-its-own-key-session-secret",
        kyc_private_key_file=tmp_path / "bank" / "backend-key.json",
    )
    app = create_bank(settings, transport=network, clock=clock)
    network.attach(BANK, app)
    try:
        page = await apply(browser, citizens[2], clock)
    finally:
        app.state.portal.engine.dispose()

    assert "Chờ đối chiếu thông tin" in page.text
    assert "Dịch vụ e-KYC từ chối yêu cầu đối chiếu của ngân hàng." in page.text
    assert "invalid_client" in page.text
    assert network.requests_to(IDP, KYC_PATH) == []


async def test_a_token_the_api_no_longer_accepts_is_replaced_once(
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    refusals = []

    def revoked_once(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != KYC_PATH or refusals:
            return response
        refusals.append(request.headers["authorization"])
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, request=request
        )

    network.response_hooks.append(revoked_once)

    page = await apply(browser, citizens[2], clock)

    assert "Đã xác minh" in page.text
    assert len(client_credentials_requests(network)) == 2
    calls = network.requests_to(IDP, KYC_PATH)
    assert len(calls) == 2
    assert calls[1].headers["authorization"] != refusals[0]  # the call retried with a new token
