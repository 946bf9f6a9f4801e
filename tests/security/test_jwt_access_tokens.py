"""JWT attacks on access tokens, presented where they are accepted: userinfo.

Every forged token differs from ``forged_access_token``'s control (signed with the
provider's real ES256 key and recorded as issued, which userinfo accepts) in the one
respect the attack is about, so each refusal is caused by that respect alone. Variants
of one attack are tried in one test (one app), each named in a failure message.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from tests.identity_service.oidc.support import ISSUER, PUBLIC_SERVICES, FakeClock
from tests.security.adversary import (
    INJECTED_KIDS,
    access_token_claims,
    assert_bearer_refusal,
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


def bearer(token: str) -> dict[str, bytes]:
    # As bytes: some attacks put non-ASCII characters into the header.
    return {"Authorization": f"Bearer {token}".encode()}


async def userinfo(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/userinfo", headers=bearer(token))


@pytest.fixture
def citizen(demo: dict[int, DemoCredential]) -> str:
    return demo[1].personal_id_number


@pytest.fixture
def control(services: IdentityServices, clock: FakeClock, citizen: str) -> str:
    return forged_access_token(services, clock(), citizen, PUBLIC_SERVICES)


def our_access_token_key(services: IdentityServices) -> tuple[str, Any]:
    """The kid and public key of the provider's ES256 (access token) key, as published."""
    signing = services.keys.signing_key("ES256")
    return signing.kid, signing.private_key.public_key()


async def test_the_control_token_is_accepted(http: httpx.AsyncClient, control: str) -> None:
    response = await userinfo(http, control)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Lê Hoàng Nam"


async def refused(http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    """Every token is refused with userinfo's 401 ``invalid_token`` challenge."""
    for label, token in tokens.items():
        assert_bearer_refusal(await userinfo(http, token), label)


async def test_alg_none_is_refused(http: httpx.AsyncClient, control: str) -> None:
    _header, payload, signature = control.split(".")
    tokens = {}
    for alg in ("none", "None", "NONE", "nOnE", ""):
        unsigned_header = b64url({"alg": alg, "typ": "at+jwt"})
        tokens[f"{alg!r} without signature"] = f"{unsigned_header}.{payload}."
        tokens[f"{alg!r} with the real signature"] = f"{unsigned_header}.{payload}.{signature}"
    await refused(http, tokens)


def _public_key_forms(services: IdentityServices) -> dict[str, bytes]:
    """Every form in which an attacker could feed our public key to HMAC."""
    kid, public_key = our_access_token_key(services)
    published = next(key for key in services.keys.jwks()["keys"] if key["kid"] == kid)
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem": pem,
        "pem without final newline": pem.rstrip(b"\n"),
        "der": public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "uncompressed point": public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        ),
        "jwk as published": json.dumps(published).encode(),
        "jwk compact sorted": json.dumps(published, separators=(",", ":"), sort_keys=True).encode(),
        "jwk members only": json.dumps(public_jwk_members(public_key)).encode(),
    }


async def test_hs256_signed_with_our_public_key_is_refused(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock, citizen: str
) -> None:
    kid, _ = our_access_token_key(services)
    tokens = {}
    for form, secret in _public_key_forms(services).items():
        # Recorded like an issued token, so only the algorithm confusion is on trial.
        recorded = forged_access_token(services, clock(), citizen, PUBLIC_SERVICES)
        payload = json.loads(b64url_decode(recorded.split(".")[1]))
        tokens[form] = hs256({"typ": "at+jwt", "kid": kid}, payload, secret)
    await refused(http, tokens)


async def test_unknown_and_injected_kids_are_refused(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    claims = access_token_claims(clock(), PUBLIC_SERVICES)
    await refused(
        http,
        {
            repr(kid)[:40]: sign(
                {"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, attacker_key()
            )
            for kid in INJECTED_KIDS
        },
    )


async def test_the_kid_of_our_other_keys_does_not_select_them(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    """Our RS256/EdDSA ID-token keys never verify access tokens, whatever the header says."""
    payload = access_token_claims(clock(), PUBLIC_SERVICES)
    tokens = {}
    for algorithm in ("RS256", "EdDSA"):
        other = services.keys.signing_key(algorithm)
        header = {"alg": algorithm, "typ": "at+jwt", "kid": other.kid}
        tokens[algorithm] = sign(header, payload, other.private_key)
    await refused(http, tokens)


async def test_keys_named_by_the_token_itself_are_never_fetched_or_trusted(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    key = attacker_key()
    our_kid, _ = our_access_token_key(services)
    injections: dict[str, dict[str, Any]] = {
        "embedded jwk": {"jwk": {**public_jwk_members(key.public_key()), "kid": "attacker"}},
        "jku": {"jku": "https://evil.example.com/jwks.json"},
        "x5u": {"x5u": "https://evil.example.com/cert.pem"},
        "x5c": {"x5c": [self_signed_certificate(key)]},
    }
    claims = access_token_claims(clock(), PUBLIC_SERVICES)
    tokens = {}
    for name, injected in injections.items():
        for kid in ("attacker", our_kid):
            header = {"alg": "ES256", "typ": "at+jwt", **injected, "kid": kid}
            tokens[f"{name}, kid {kid[:8]}"] = sign(header, claims, key)
    await refused(http, tokens)


REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


def _claims_cases(now: int) -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
    return {
        "expired": ({"iat": now - 400, "exp": now - 1}, ()),
        "expires this second": ({"exp": now}, ()),
        "not yet valid (nbf)": ({"nbf": now + 60}, ()),
        "issued in the future (iat)": ({"iat": now + 60}, ()),
        "exp not a number": ({"exp": str(now + 300)}, ()),
        "exp is true": ({"exp": True}, ()),
        "iat not a number": ({"iat": "yesterday"}, ()),
        "nbf not a number": ({"nbf": [now]}, ()),
        "other issuer": ({"iss": "https://evil.example.com"}, ()),
        "issuer with trailing slash": ({"iss": ISSUER + "/"}, ()),
        "issuer over http": ({"iss": ISSUER.replace("https://", "http://")}, ()),
        "issuer in capitals": ({"iss": ISSUER.upper()}, ()),
        "audience is the portal": ({"aud": PUBLIC_SERVICES}, ()),
        "audience list without us": ({"aud": ["https://evil.example.com"]}, ()),
        "empty audience list": ({"aud": []}, ()),
        "client_id of another portal": ({"client_id": "demo-bank"}, ()),
        **{f"no {name}": ({}, (name,)) for name in REQUIRED_CLAIMS},
    }


async def test_claims_that_are_wrong_are_refused_even_under_our_signature(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock, citizen: str
) -> None:
    tokens = {
        label: forged_access_token(
            services, clock(), citizen, PUBLIC_SERVICES, claims=claims, drop=drop
        )
        for label, (claims, drop) in _claims_cases(int(clock())).items()
    }
    await refused(http, tokens)


async def test_only_the_access_token_type_is_accepted(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock, citizen: str
) -> None:
    types = [None, "JWT", "jwt", "id_token+jwt", "dpop+jwt", "logout+jwt", "at+jwt+evil", ""]
    tokens = {
        repr(typ): forged_access_token(
            services, clock(), citizen, PUBLIC_SERVICES, header={"typ": typ}
        )
        for typ in types
    }
    await refused(http, tokens)


async def test_an_id_token_is_not_an_access_token(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    """Signed by the very key that signs access tokens (ES256), yet refused."""
    id_token = services.tokens.id_token(
        client_id=PUBLIC_SERVICES,
        subject="pairwise-subject",
        alg="ES256",
        ttl=300,
        auth_time=clock(),
    )
    assert_bearer_refusal(await userinfo(http, id_token))


async def test_a_token_of_a_retired_key_is_refused(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock, citizen: str
) -> None:
    long_lived = {"exp": int(clock()) + 3600}
    old = forged_access_token(services, clock(), citizen, PUBLIC_SERVICES, claims=long_lived)
    services.keys.rotate("ES256", retain_seconds=300)
    # While the old key is still published, its tokens are good (rotation is seamless).
    assert (await userinfo(http, old)).status_code == 200
    clock.advance(301)
    new = forged_access_token(services, clock(), citizen, PUBLIC_SERVICES, claims=long_lived)
    assert (await userinfo(http, new)).status_code == 200  # the clock alone refuses nothing
    assert_bearer_refusal(await userinfo(http, old))
    services.keys.retire_expired()
    assert_bearer_refusal(await userinfo(http, old))


def _re_encoded(control: str) -> dict[str, str]:
    header, payload, signature = control.split(".")
    raw = b64url_decode(signature)
    standard = signature.replace("-", "+").replace("_", "/")
    if standard == signature:  # the signature happens to have neither character
        standard = signature[:-1] + "+"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    header_json = json.loads(b64url_decode(header))
    return {
        "padding =": f"{header}.{payload}.{signature}=",
        "padding ===": f"{header}.{payload}.{signature}===",
        "padding %3D%3D": f"{header}.{payload}.{signature}%3D%3D",
        "one character short": control[:-1],
        "four characters short": control[:-4],
        "half the signature": control[: -len(signature) // 2],
        "empty signature": f"{header}.{payload}.",
        "trailing A": control + "A",
        "trailing AAAA": control + "AAAA",
        "trailing dot": control + ".",
        "fourth segment": control + "." + signature,
        "standard base64 alphabet": f"{header}.{payload}.{standard}",
        "DER-encoded ECDSA signature": f"{header}.{payload}.{b64url(der)}",
        "payload re-padded": f"{header}.{payload}{'=' * (-len(payload) % 4) or '===='}.{signature}",
        "header re-encoded": f"{b64url(json.dumps(header_json, indent=1))}.{payload}.{signature}",
    }


async def test_truncated_and_re_encoded_tokens_are_refused(
    http: httpx.AsyncClient, control: str
) -> None:
    assert (await userinfo(http, control)).status_code == 200
    await refused(http, _re_encoded(control))


async def test_a_padded_signature_is_refused(http: httpx.AsyncClient, control: str) -> None:
    assert len(control.split(".")[2]) % 4 == 2  # 64 bytes of ES256 signature: 86 characters
    assert_bearer_refusal(await userinfo(http, control + "=="))


async def test_malformed_tokens_are_refused(http: httpx.AsyncClient) -> None:
    malformed = [
        "not-a-token",
        "a.b",
        "a.b.c.d.e",  # a JWE shape
        "..",
        '{"payload":"e30","signatures":[]}',  # JWS JSON serialisation
        b64url({"alg": "ES256"}) + "." + b64url([1, 2]) + ".",
        b64url([1]) + "." + b64url({}) + ".",
        b64url("not json") + "." + b64url({}) + ".",
        "ｅｙＪｈｂＧｃｉＯｉＪＦＵｚＩ１ＮｉＪ９.e30.e30",
    ]
    await refused(http, {token[:30]: token for token in malformed})


async def test_compact_helper_builds_what_the_verifier_parses(
    http: httpx.AsyncClient, control: str
) -> None:
    """The hand-made encoder agrees with the provider's: re-assembling the control works."""
    header, payload, signature = control.split(".")
    rebuilt = compact(
        json.loads(b64url_decode(header)),
        json.loads(b64url_decode(payload)),
        b64url_decode(signature),
    )
    assert (await userinfo(http, rebuilt)).status_code == 200
