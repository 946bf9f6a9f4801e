"""DPoP attacks (RFC 9449 §11): forged, replayed, misdirected and stale proofs, and stolen
key-bound tokens. Every variant is refused with the exact error, never a 500."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from tests.identity_service.oidc.high_assurance import (
    TOKEN_URL,
    USERINFO_URL,
    DpopKey,
    KeyHoldingClient,
    fresh_proof,
    plain_code,
    redeem,
)
from tests.identity_service.oidc.support import Browser, FakeClock
from tests.security.adversary import assert_oauth_error, b64url, compact, hs256, sign

pytestmark = pytest.mark.anyio


def _backend(services: IdentityServices, clock: FakeClock) -> KeyHoldingClient:
    return KeyHoldingClient(
        services,
        clock,
        client_id="dpop-backend",
        scopes=("kyc.verify",),
        grant_types=("client_credentials",),
        dpop_bound_access_tokens=True,
    )


def _claims(services: IdentityServices, clock: FakeClock, **changes: Any) -> dict[str, Any]:
    claims = {
        "jti": f"jti-{time.monotonic_ns()}",
        "htm": "POST",
        "htu": TOKEN_URL,
        "iat": int(clock()),
        "nonce": services.dpop.current_nonce(),
        **changes,
    }
    return {name: value for name, value in claims.items() if value is not None}


def _forged_proofs(services: IdentityServices, clock: FakeClock) -> dict[str, list[str]]:
    """``DPoP`` header values a token request must refuse (invalid_dpop_proof)."""
    key = DpopKey()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk}

    def signed(header_changes: dict[str, Any] | None = None, **claims: Any) -> str:
        token_header = {**header, **(header_changes or {})}
        token_header = {name: value for name, value in token_header.items() if value is not None}
        return sign(token_header, _claims(services, clock, **claims), key.private_key)

    small_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    rsa_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    small_rsa_jwk = public_jwk_members(small_rsa.public_key())
    public_bytes = b64url(str(key.jwk)).encode()
    replayed = signed()
    return {
        "alg none": [compact({**header, "alg": "none"}, _claims(services, clock))],
        "HS256 keyed with the public key": [hs256(header, _claims(services, clock), public_bytes)],
        "HS256 with a symmetric jwk": [
            hs256(
                {"typ": "dpop+jwt", "jwk": {"kty": "oct", "k": b64url(b"secret")}},
                _claims(services, clock),
                b"secret",
            )
        ],
        "no typ": [signed({"typ": None})],
        "typ JWT": [signed({"typ": "JWT"})],
        "typ of an access token": [signed({"typ": "at+jwt"})],
        "no jwk": [signed({"jwk": None})],
        "jwk with the private key": [
            signed({"jwk": {**key.jwk, "d": b64url(b"not really the key but private")}})
        ],
        "jwk of another key": [signed({"jwk": DpopKey().jwk})],
        "jwk not an object": [signed({"jwk": "eyJrdHkiOiJFQyJ9"})],
        "EC jwk with RS256": [sign({**header, "alg": "RS256"}, _claims(services, clock), rsa_2048)],
        "RSA key of 1024 bits": [
            sign(
                {"typ": "dpop+jwt", "alg": "RS256", "jwk": small_rsa_jwk},
                _claims(services, clock),
                small_rsa,
            )
        ],
        "htm GET": [signed(htm="GET")],
        "htm lower case": [signed(htm="post")],
        "htu of userinfo": [signed(htu=USERINFO_URL)],
        "htu on another host": [signed(htu="https://evil.example/token")],
        "htu over http": [signed(htu=TOKEN_URL.replace("https://", "http://"))],
        "htu with a trailing slash": [signed(htu=TOKEN_URL + "/")],
        "htu not a string": [signed(htu=["https://id.natid.test/token"])],
        "iat five minutes old": [signed(iat=int(clock()) - 300)],
        "iat a minute ahead": [signed(iat=int(clock()) + 60)],
        "iat as a string": [signed(iat=str(int(clock())))],
        "iat NaN": [signed(iat=float("nan"))],
        "iat beyond any float": [signed(iat=10**400)],
        "no iat": [signed(iat=None)],
        "no jti": [signed(jti=None)],
        "jti a number": [signed(jti=7)],
        "jti of 1000 characters": [signed(jti="j" * 1000)],
        "two proofs": [signed(), signed()],
        "padded signature": [signed() + "=="],
        "truncated signature": [signed()[:-10]],
        "not a JWS": ["not.a.jws.at.all"],
        "empty": [""],
        "replayed": [replayed, replayed],
    }


async def test_forged_proofs_are_refused_at_the_token_endpoint(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    backend = _backend(services, clock)
    for label, values in _forged_proofs(services, clock).items():
        if label == "replayed":
            first = await http.post(
                "/token",
                data={"grant_type": "client_credentials", **backend.authentication()},
                headers={"DPoP": values[0]},
            )
            assert first.status_code == 200, f"{label}: the first use must work: {first.text}"
            values = values[1:]
        response = await http.post(
            "/token",
            data={"grant_type": "client_credentials", **backend.authentication()},
            headers=[("DPoP", value) for value in values],
        )
        assert_oauth_error(response, 400, "invalid_dpop_proof", label)
        assert "access_token" not in response.text, label


async def test_stale_or_forged_nonces_get_the_current_one(
    http: httpx.AsyncClient, services: IdentityServices, clock: FakeClock
) -> None:
    backend = _backend(services, clock)
    key = DpopKey()
    old_nonce = services.dpop.current_nonce()
    clock.advance(700)  # two nonce windows later
    for label, nonce in (
        ("two windows old", old_nonce),
        ("forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("missing", None),
    ):
        response = await http.post(
            "/token",
            data={"grant_type": "client_credentials", **backend.authentication()},
            headers=fresh_proof(services, clock, key, "POST", TOKEN_URL, nonce=nonce),
        )
        assert_oauth_error(response, 400, "use_dpop_nonce", label)
        assert response.headers["DPoP-Nonce"] == services.dpop.current_nonce(), label


async def test_a_stolen_bound_token_is_useless_without_the_key(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    clock: FakeClock,
    demo: dict[int, DemoCredential],
) -> None:
    client = KeyHoldingClient(services, clock)
    key = DpopKey()
    request = client.raw_request()
    code = await plain_code(browser, request, demo[1])
    issued = await redeem(
        http, client, code, request, headers=fresh_proof(services, clock, key, "POST", TOKEN_URL)
    )
    token = issued.json()["access_token"]
    thief = DpopKey()

    def dpop(proof: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"DPoP {token}", **proof}

    attempts: dict[str, tuple[dict[str, str], str]] = {
        "as a bearer token": ({"Authorization": f"Bearer {token}"}, "invalid_token"),
        "with the DPoP scheme and no proof": (
            {"Authorization": f"DPoP {token}"},
            "invalid_dpop_proof",
        ),
        "with the thief's own proof": (
            dpop(fresh_proof(services, clock, thief, "GET", USERINFO_URL, access_token=token)),
            "invalid_dpop_proof",
        ),
        "with a proof lacking ath": (
            dpop(fresh_proof(services, clock, key, "GET", USERINFO_URL)),
            "invalid_dpop_proof",
        ),
        "with a proof for the token endpoint": (
            dpop(fresh_proof(services, clock, key, "POST", TOKEN_URL, access_token=token)),
            "invalid_dpop_proof",
        ),
        "with a proof for POST": (
            dpop(fresh_proof(services, clock, key, "POST", USERINFO_URL, access_token=token)),
            "invalid_dpop_proof",
        ),
    }
    for label, (headers, error) in attempts.items():
        response = await http.get("/userinfo", headers=headers)
        assert_oauth_error(response, 401, error, label)
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('DPoP realm="natid"'), label
        assert f'error="{error}"' in challenge, label
        assert "national_id" not in response.text and "name" not in response.json(), label
    genuine = fresh_proof(services, clock, key, "GET", USERINFO_URL, access_token=token)
    assert (await http.get("/userinfo", headers=dpop(genuine))).status_code == 200
    assert (await http.get("/userinfo", headers=dpop(genuine))).status_code == 401  # replayed
