"""JWT attacks on ``private_key_jwt`` client authentication at the token endpoint (RFC 7523).

The token requests carry a code that does not exist, so the two possible answers tell
exactly how far the request got: 401 ``invalid_client`` — the assertion was refused;
400 ``invalid_grant`` — the client was authenticated and only the code failed. The
control (a correct assertion) gets the second answer; every attack must get the first.
Variants of one attack are tried in one test, each named in a failure message.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from tests.identity_service.oidc.support import ISSUER, PUBLIC_SERVICES, FakeClock
from tests.security.adversary import (
    INJECTED_KIDS,
    KEY_CLIENT_KID,
    TOKEN_ENDPOINT,
    KeyClient,
    assert_oauth_error,
    attacker_key,
    b64url,
    compact,
    hs256,
    self_signed_certificate,
    sign,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def portal(services: IdentityServices, clock: FakeClock) -> KeyClient:
    return KeyClient(services, clock)


async def present(http: httpx.AsyncClient, portal: KeyClient, assertion: str) -> httpx.Response:
    return await http.post("/token", data=portal.token_request(assertion))


def assert_authenticated(response: httpx.Response, label: str = "") -> None:
    assert_oauth_error(response, 400, "invalid_grant", label)


def assert_refused(response: httpx.Response, label: str = "") -> None:
    assert_oauth_error(response, 401, "invalid_client", label)
    assert response.headers["www-authenticate"].startswith("Basic"), label


async def refused(http: httpx.AsyncClient, portal: KeyClient, assertions: dict[str, str]) -> None:
    for label, assertion in assertions.items():
        assert_refused(await present(http, portal, assertion), label)


async def test_a_correct_assertion_authenticates(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    assert_authenticated(await present(http, portal, portal.assertion()))


async def test_an_assertion_works_once(http: httpx.AsyncClient, portal: KeyClient) -> None:
    assertion = portal.assertion()
    assert_authenticated(await present(http, portal, assertion))
    assert_refused(await present(http, portal, assertion))


async def test_alg_none_is_refused(http: httpx.AsyncClient, portal: KeyClient) -> None:
    _header, payload, signature = portal.assertion().split(".")
    assertions = {}
    for alg in ("none", "None", "NONE", ""):
        header = b64url({"alg": alg, "kid": KEY_CLIENT_KID})
        assertions[f"{alg!r} without signature"] = f"{header}.{payload}."
        assertions[f"{alg!r} with the real signature"] = f"{header}.{payload}.{signature}"
    await refused(http, portal, assertions)


def _client_public_key_forms(portal: KeyClient) -> dict[str, bytes]:
    public_key = portal.key.public_key()
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem": pem,
        "pem without final newline": pem.rstrip(b"\n"),
        "der": public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk as registered": json.dumps(portal.public_jwk).encode(),
        "jwk compact sorted": json.dumps(
            portal.public_jwk, separators=(",", ":"), sort_keys=True
        ).encode(),
        "jwk members only": json.dumps(public_jwk_members(public_key)).encode(),
    }


async def test_hs256_signed_with_the_clients_public_key_is_refused(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    await refused(
        http,
        portal,
        {
            form: hs256({"kid": KEY_CLIENT_KID, "typ": "JWT"}, portal.claims(), secret)
            for form, secret in _client_public_key_forms(portal).items()
        },
    )


async def test_unknown_and_injected_kids_are_refused(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    # Signed with an attacker's key: the kid must not lead to any key that verifies it.
    await refused(
        http,
        portal,
        {
            repr(kid)[:40]: portal.assertion(key=attacker_key(), header={"kid": kid})
            for kid in INJECTED_KIDS
        },
    )


async def test_a_kid_naming_none_of_the_clients_keys_is_refused_even_when_signed_right(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    assert_refused(await present(http, portal, portal.assertion(header={"kid": "other-key"})))


async def test_keys_named_by_the_assertion_itself_are_never_trusted(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    key = attacker_key()
    injections: dict[str, dict[str, Any]] = {
        "embedded jwk": {"jwk": public_jwk_members(key.public_key())},
        "jku": {"jku": "https://evil.example.com/jwks.json"},
        "x5u": {"x5u": "https://evil.example.com/cert.pem"},
        "x5c": {"x5c": [self_signed_certificate(key)]},
    }
    assertions = {}
    for name, injected in injections.items():
        for kid in (KEY_CLIENT_KID, None):
            header = {**injected, "kid": kid}
            assertions[f"{name}, kid {kid}"] = portal.assertion(key=key, header=header)
    await refused(http, portal, assertions)


def _claim_changes(now: int) -> dict[str, dict[str, Any]]:
    return {
        "expired": {"iat": now - 400, "exp": now - 300},
        "expiry not a number": {"exp": str(now + 60)},
        "expiry NaN": {"exp": float("nan")},
        "expiry infinite": {"exp": float("inf")},
        "expiry is true": {"exp": True},
        "expiry beyond any float": {"exp": 10**400},
        "nbf beyond any float": {"nbf": -(10**400)},
        "lives a week": {"exp": now + 7 * 24 * 3600},
        "not yet valid (nbf)": {"nbf": now + 600},
        "nbf NaN": {"nbf": float("nan")},
        "nbf not a number": {"nbf": "now"},
        "issued in the future (iat)": {"iat": now + 600},
        "iat NaN": {"iat": float("nan")},
        "iat not a number": {"iat": "today"},
        "no exp": {"exp": None},
        "no jti": {"jti": None},
        "jti not text": {"jti": ["a", "b"]},
        "no sub": {"sub": None},
        "sub of another client": {"sub": PUBLIC_SERVICES},
        "audience of another provider": {"aud": "https://other-idp.example.com/token"},
        "audience is userinfo": {"aud": f"{ISSUER}/userinfo"},
        "audience with trailing slash": {"aud": TOKEN_ENDPOINT + "/"},
        "audience list without us": {"aud": ["https://other-idp.example.com/token"]},
        "no aud": {"aud": None},
    }


async def test_wrong_claims_are_refused_even_when_signed_by_the_client(
    http: httpx.AsyncClient, portal: KeyClient, clock: FakeClock
) -> None:
    await refused(
        http,
        portal,
        {
            label: portal.assertion(**changes)
            for label, changes in _claim_changes(int(clock())).items()
        },
    )


async def test_an_assertion_naming_another_client_is_refused(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    """Client A's key cannot authenticate client B, and the form's client_id must match."""
    first, second = KeyClient(services, clock), KeyClient(services, clock)
    as_second = sign(
        {"alg": "ES256", "kid": KEY_CLIENT_KID},
        second.claims(),
        first.key,  # same kid, wrong client's key
    )
    assert_refused(await present(http, second, as_second))
    mismatched = first.token_request(first.assertion(), client_id=second.client_id)
    assert_refused(await http.post("/token", data=mismatched))


async def test_tokens_the_provider_issued_are_not_client_assertions(
    http: httpx.AsyncClient, services: IdentityServices, portal: KeyClient, clock: FakeClock
) -> None:
    id_token = services.tokens.id_token(
        client_id=portal.client_id, subject=portal.client_id, alg="ES256", ttl=60, auth_time=clock()
    )
    access_token = services.tokens.access_token(
        client_id=portal.client_id, subject=portal.client_id, scope="openid", ttl=60
    )
    await refused(http, portal, {"ID token": id_token, "access token": access_token})


def _re_encoded(good: str) -> dict[str, str]:
    head, _, signature = good.rpartition(".")
    standard = signature.replace("-", "+").replace("_", "/")
    if standard == signature:  # the signature happens to have neither character
        standard = signature[:-1] + "+"
    return {
        "padding ==": f"{good}==",
        "padding =": f"{good}=",
        "one character short": good[:-1],
        "trailing A": good + "A",
        "trailing AAAA": good + "AAAA",
        "fourth segment": f"{good}.{signature}",
        "standard base64 alphabet": f"{head}.{standard}",
        "whitespace inside": f"{head}.{signature[:20]} {signature[20:]}",
    }


async def test_truncated_and_re_encoded_assertions_are_refused(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    for label in _re_encoded(portal.assertion()):
        good = portal.assertion()
        assert_refused(await present(http, portal, _re_encoded(good)[label]), label)
        # The untouched assertion still works: only the re-encoding was refused.
        assert_authenticated(await present(http, portal, good), label)


async def test_malformed_assertions_are_refused(http: httpx.AsyncClient, portal: KeyClient) -> None:
    # An empty parameter counts as omitted: then no authentication was presented at all.
    assert_oauth_error(await present(http, portal, ""), 401, "invalid_client")
    malformed = [
        "not-a-jwt",
        "..",
        "a.b.c.d.e",
        compact({"alg": "ES256"}, {}),
        b64url([1]) + "." + b64url({}) + ".",
        b64url({"alg": "ES256"}) + "." + b64url("[1, 2]") + ".",
        "x" * 20_000,
    ]
    await refused(http, portal, {assertion[:30]: assertion for assertion in malformed})


async def test_the_assertion_type_must_be_jwt_bearer(
    http: httpx.AsyncClient, portal: KeyClient
) -> None:
    saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    request = portal.token_request(portal.assertion(), client_assertion_type=saml)
    assert_oauth_error(await http.post("/token", data=request), 400, "invalid_request")
