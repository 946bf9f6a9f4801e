"""JWT attacks on the other places that accept a JWT: the e-KYC API's bearer tokens, token
introspection, and the ``id_token_hint`` of RP-initiated logout.

Each place has its own correct answer to a token it does not accept: the e-KYC API a
401 problem with a Bearer challenge, introspection ``{"active": false}`` (RFC 7662 §2.2),
logout a confirmation page instead of ending the session at once (RP-Initiated Logout
§2: without a valid hint the OP must ask). Each attack is again measured against a
control that the same place accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from identity_service.oidc.sessions import SESSION_COOKIE
from tests.identity_service.idp_harness import KYC_CLIENT, KYC_SCOPE, register_kyc_client
from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    obtain_code,
    query_of,
    raw_request,
)
from tests.security.adversary import (
    attacker_key,
    b64url,
    b64url_decode,
    compact,
    forged_access_token,
    hs256,
    self_signed_certificate,
    sign,
)

pytestmark = pytest.mark.anyio

KYC_PATH = "/api/v1/kyc/verify"
LOGOUT_RETURN = "http://127.0.0.1:8101/"
# Each forgery takes the control token and the provider's key of that token's algorithm.
Forgery = Callable[[str, Any], str]


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def alg_none(token: str, _key: Any) -> str:
    header, payload, _ = _parts(token)
    return f"{b64url({**header, 'alg': 'none'})}.{b64url(payload)}."


def hs256_with_our_public_key(token: str, key: Any) -> str:
    header, payload, _ = _parts(token)
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hs256(header, payload, pem)


def attacker_key_with_our_kid(token: str, _key: Any) -> str:
    header, payload, _ = _parts(token)
    return sign({**header, "alg": "ES256"}, payload, attacker_key())


def embedded_jwk(token: str, _key: Any) -> str:
    header, payload, _ = _parts(token)
    key = attacker_key()
    jwk = public_jwk_members(key.public_key())
    return sign({**header, "alg": "ES256", "jwk": jwk, "kid": "attacker"}, payload, key)


def jku_and_x5c(token: str, _key: Any) -> str:
    header, payload, _ = _parts(token)
    key = attacker_key()
    injected = {
        "alg": "ES256",
        "jku": "https://evil.example.com/jwks.json",
        "x5c": [self_signed_certificate(key)],
    }
    return sign({**header, **injected}, payload, key)


def injected_kid(token: str, _key: Any) -> str:
    header, payload, _ = _parts(token)
    return sign({**header, "alg": "ES256", "kid": "../../../dev/null"}, payload, attacker_key())


def truncated_signature(token: str, _key: Any) -> str:
    return token[:-2]


FORGERIES: dict[str, Forgery] = {
    "alg none": alg_none,
    "HS256 with our public key": hs256_with_our_public_key,
    "attacker's key with our kid": attacker_key_with_our_kid,
    "embedded jwk": embedded_jwk,
    "jku and x5c": jku_and_x5c,
    "injected kid": injected_kid,
    "truncated signature": truncated_signature,
}


def public_key_of(services: IdentityServices, token: str) -> Any:
    return services.keys.public_key(jwt.get_unverified_header(token)["kid"])


# -- the e-KYC API ------------------------------------------------------------------------


@pytest.fixture
def kyc_query(demo: dict[int, DemoCredential], services: IdentityServices) -> dict[str, str]:
    register_kyc_client(services)
    record = services.population.get(demo[1].personal_id_number)
    assert record is not None
    return {
        "personal_id_number": record.personal_id_number,
        "full_name": record.full_name,
        "birth_date": record.birth_date.isoformat(),
        "gender": record.gender,
    }


def kyc_bearer_token(services: IdentityServices, **changes: Any) -> str:
    """A client-credentials access token for the KYC client, as the token endpoint issues."""
    return services.tokens.access_token(
        client_id=KYC_CLIENT, subject=KYC_CLIENT, scope=KYC_SCOPE, ttl=600, **changes
    )


async def kyc_call(http: httpx.AsyncClient, token: str, query: dict[str, str]) -> httpx.Response:
    return await http.post(KYC_PATH, json=query, headers={"Authorization": f"Bearer {token}"})


def assert_kyc_refused(response: httpx.Response, status: int = 401, label: str = "") -> None:
    assert response.status_code == status, f"{label}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), label
    assert response.headers["www-authenticate"].startswith("Bearer"), label


async def test_forged_kyc_bearer_tokens_are_refused(
    http: httpx.AsyncClient,
    services: IdentityServices,
    clock: FakeClock,
    kyc_query: dict[str, str],
) -> None:
    control = kyc_bearer_token(services)
    assert (await kyc_call(http, control, kyc_query)).status_code == 200
    for label, forge in FORGERIES.items():
        clock.advance(1)  # a new second: the per-client rate limit starts afresh
        forged = forge(control, public_key_of(services, control))
        assert_kyc_refused(await kyc_call(http, forged, kyc_query), label=label)


async def test_tokens_that_are_not_a_clients_kyc_token_are_refused(
    http: httpx.AsyncClient,
    services: IdentityServices,
    clock: FakeClock,
    kyc_query: dict[str, str],
    demo: dict[int, DemoCredential],
) -> None:
    id_token = services.tokens.id_token(
        client_id=KYC_CLIENT, subject=KYC_CLIENT, alg="ES256", ttl=600, auth_time=clock()
    )
    assert_kyc_refused(await kyc_call(http, id_token, kyc_query))
    citizens = forged_access_token(services, clock(), demo[1].personal_id_number, KYC_CLIENT)
    assert_kyc_refused(await kyc_call(http, citizens, kyc_query), 403)
    expired = kyc_bearer_token(services)
    clock.advance(601)
    assert_kyc_refused(await kyc_call(http, expired, kyc_query))


@pytest.mark.parametrize("used_before", [False, True])
async def test_a_kyc_token_of_a_retired_key_is_refused(
    http: httpx.AsyncClient,
    services: IdentityServices,
    clock: FakeClock,
    kyc_query: dict[str, str],
    used_before: bool,
) -> None:
    token = kyc_bearer_token(services)
    if used_before:
        assert (await kyc_call(http, token, kyc_query)).status_code == 200
    # An emergency rotation: the old key is withdrawn after one minute, not the token TTL.
    services.keys.rotate("ES256", retain_seconds=60)
    clock.advance(61)
    services.keys.retire_expired()
    fresh = kyc_bearer_token(services)
    assert (await kyc_call(http, fresh, kyc_query)).status_code == 200
    clock.advance(1)
    assert_kyc_refused(await kyc_call(http, token, kyc_query))


# -- token introspection --------------------------------------------------------------------


async def introspect(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/introspect",
        data={"token": token, "token_type_hint": "access_token"},
        headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    )


async def test_introspection_reports_forged_tokens_inactive(
    http: httpx.AsyncClient,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    control = forged_access_token(services, clock(), demo[1].personal_id_number, PUBLIC_SERVICES)
    assert (await introspect(http, control)).json()["active"] is True
    for label, forge in FORGERIES.items():
        answer = await introspect(http, forge(control, public_key_of(services, control)))
        assert answer.status_code == 200, label
        assert answer.json() == {"active": False}, label
        assert answer.headers["cache-control"] == "no-store", label


# -- id_token_hint at logout ----------------------------------------------------------------


async def logged_in_session(
    browser: Browser, services: IdentityServices, citizen: DemoCredential
) -> str:
    """Log ``citizen`` in at the public-services portal (consent given); the session's sid."""
    await obtain_code(browser, raw_request(), citizen.personal_id_number, citizen.password)
    session = services.sessions.load(browser.http.cookies.get(SESSION_COOKIE))
    assert session is not None
    return session.sid


def id_token_hint(
    services: IdentityServices, clock: FakeClock, sid: str, alg: str = "RS256"
) -> str:
    return services.tokens.id_token(
        client_id=PUBLIC_SERVICES, subject="pairwise", alg=alg, ttl=600, auth_time=clock(), sid=sid
    )


async def still_logged_in(browser: Browser) -> bool:
    answer = await browser.open(raw_request(prompt="none").url)
    return "code" in query_of(answer.headers["location"])


async def log_out_with(browser: Browser, hint: str) -> httpx.Response:
    query = httpx.QueryParams(
        {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_RETURN, "state": "s"}
    )
    return await browser.http.get(f"/logout?{query}")


async def test_a_real_hint_logs_out_at_once(
    browser: Browser, services: IdentityServices, clock: FakeClock, demo: dict[int, DemoCredential]
) -> None:
    sid = await logged_in_session(browser, services, demo[1])
    answer = await log_out_with(browser, id_token_hint(services, clock, sid))
    assert answer.status_code == 303 and answer.headers["location"].startswith(LOGOUT_RETURN)
    assert not await still_logged_in(browser)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_a_forged_hint_never_ends_the_session_without_asking(
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
    alg: str,
) -> None:
    sid = await logged_in_session(browser, services, demo[1])
    control = id_token_hint(services, clock, sid, alg)
    for label, forge in FORGERIES.items():
        answer = await log_out_with(browser, forge(control, public_key_of(services, control)))
        assert answer.status_code == 200 and "location" not in answer.headers, label
        assert 'action="/logout/confirm"' in answer.text, label
        assert await still_logged_in(browser), label


async def test_other_tokens_of_ours_are_not_hints(
    browser: Browser, services: IdentityServices, clock: FakeClock, demo: dict[int, DemoCredential]
) -> None:
    sid = await logged_in_session(browser, services, demo[1])
    access_token = services.tokens.access_token(
        client_id=PUBLIC_SERVICES,
        subject="pairwise",
        scope="openid",
        ttl=600,
        extra_claims={"sid": sid},
    )
    other_issuer = jwt.decode(
        id_token_hint(services, clock, sid), options={"verify_signature": False}
    ) | {"iss": ISSUER + "/other"}
    rs256 = services.keys.signing_key("RS256")
    wrong_issuer = sign({"alg": "RS256", "kid": rs256.kid}, other_issuer, rs256.private_key)
    for hint in (access_token, wrong_issuer):
        answer = await log_out_with(browser, hint)
        assert answer.status_code == 200 and 'action="/logout/confirm"' in answer.text
        assert await still_logged_in(browser)


async def test_a_hint_signed_by_a_retired_key_is_not_trusted(
    browser: Browser, services: IdentityServices, clock: FakeClock, demo: dict[int, DemoCredential]
) -> None:
    sid = await logged_in_session(browser, services, demo[1])
    old = id_token_hint(services, clock, sid)
    services.keys.rotate("RS256", retain_seconds=60)
    clock.advance(61)
    services.keys.retire_expired()
    answer = await log_out_with(browser, old)
    assert answer.status_code == 200 and 'action="/logout/confirm"' in answer.text
    assert await still_logged_in(browser)


# -- the token debugger --------------------------------------------------------------------


async def test_the_token_debugger_shows_hostile_tokens_without_running_them(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    """Whatever is pasted comes back as escaped text on a 200 page: nothing in a token's
    header or claims is fetched, executed or able to break the page."""
    form = await http.get("/debugger")
    assert form.status_code == 200
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf_token is not None
    script = "<script>alert(1)</script>"
    control = kyc_bearer_token(services)
    hostile_header = {
        "alg": "ES256",
        "kid": script,
        "jku": "https://evil.example.com/jwks.json",
        "x5u": "https://evil.example.com/x.pem",
        "typ": script,
    }
    tokens = {
        **{
            label: forge(control, public_key_of(services, control))
            for label, forge in FORGERIES.items()
        },
        "script in header and claims": sign(
            hostile_header, {"iss": script, "sub": script, "exp": "<b>"}, attacker_key()
        ),
        "NaN and Infinity": compact({"alg": "none"}, {"exp": float("nan"), "iat": float("inf")}),
        "nested claims": b64url({"alg": "none"}) + "." + b64url("[" * 5000 + "]" * 5000) + ".",
        "not base64": "%%%.^^^.***",
        "invalid UTF-8 inside": b64url(b"\xff\xfe") + "." + b64url(b"\xc0\xaf") + ".",
    }
    for label, token in tokens.items():
        page = await http.post(
            "/debugger",
            data={"csrf_token": csrf_token.group(1), "token": token, "audience": script},
        )
        assert page.status_code == 200, f"{label}: {page.status_code}"
        assert script not in page.text, label
        assert page.headers["cache-control"] == "no-store", label


async def test_the_token_debugger_survives_a_time_beyond_any_float(
    http: httpx.AsyncClient,
) -> None:
    form = await http.get("/debugger")
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf_token is not None
    for header in ({"alg": "none"}, {"alg": "ES256", "typ": "dpop+jwt", "jwk": {"kty": "EC"}}):
        token = compact(header, {"iat": 10**400, "exp": 10**400, "nbf": -(10**400)})
        page = await http.post(
            "/debugger", data={"csrf_token": csrf_token.group(1), "token": token}
        )
        assert page.status_code == 200, header
