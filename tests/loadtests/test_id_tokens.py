"""Offline ID-token verification with a cached JWKS, as the load-test portals do it."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from loadtests.id_tokens import IdTokenError, KeySet, left_half_hash, verify_id_token

ISSUER = "http://127.0.0.1:8000"
CLIENT = "loadtest-portal"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """An IdP's key set: signs tokens and serves its public JWKS, counting downloads."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.downloads = 0
        self.add("key-1")

    def add(self, kid: str) -> None:
        self.private[kid] = ec.generate_private_key(ec.SECP256R1())

    def jwks(self) -> dict[str, Any]:
        self.downloads += 1
        keys = []
        for kid, key in self.private.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}

    def sign(self, kid: str = "key-1", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "sub": "s", "aud": CLIENT, "exp": now + 300, "iat": now, **claims}
        return jwt.encode(body, self.private[kid], algorithm="ES256", headers={"kid": kid})


@pytest.fixture
def keys() -> Keys:
    return Keys()


def _verify(token: str, key_set: KeySet, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"issuer": ISSUER, "client_id": CLIENT, "nonce": "n1", **overrides}
    return verify_id_token(token, key_set, **options)


def test_a_valid_token_verifies_and_the_jwks_is_fetched_once(keys: Keys) -> None:
    key_set = KeySet(keys.jwks)
    access_token = "an-access-token"
    for _ in range(3):
        token = keys.sign(nonce="n1", at_hash=left_half_hash(access_token, "ES256"))
        claims = _verify(token, key_set, access_token=access_token)
        assert claims["sub"] == "s"
    assert keys.downloads == 1


@pytest.mark.parametrize(
    ("claims", "overrides", "reason"),
    [
        ({"nonce": "other"}, {}, "nonce"),
        ({"nonce": "n1", "aud": "another-portal"}, {}, r"(?i)audience"),
        ({"nonce": "n1", "iss": "http://evil.example"}, {}, r"(?i)issuer"),
        ({"nonce": "n1", "exp": int(time.time()) - 60}, {}, r"(?i)expired"),
        ({"nonce": "n1", "at_hash": "AAAA"}, {"access_token": "t"}, "at_hash"),
    ],
)
def test_wrong_claims_are_refused(
    keys: Keys, claims: dict[str, Any], overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(IdTokenError, match=reason):
        _verify(keys.sign(**claims), KeySet(keys.jwks), **overrides)


def test_a_token_signed_by_another_key_with_our_kid_is_refused(keys: Keys) -> None:
    key_set = KeySet(keys.jwks)
    impostor = Keys()
    with pytest.raises(IdTokenError, match=r"(?i)signature"):
        _verify(impostor.sign(nonce="n1"), key_set)


def test_unsigned_and_hmac_tokens_are_refused(keys: Keys) -> None:
    key_set = KeySet(keys.jwks)
    body = {"iss": ISSUER, "sub": "s", "aud": CLIENT, "exp": int(time.time()) + 60, "iat": 0}
    unsigned = jwt.encode(body, None, algorithm="none", headers={"kid": "key-1"})
    with pytest.raises(IdTokenError, match="not accepted"):
        _verify(unsigned, key_set)
    hmac = jwt.encode(body, "secret-secret-secret-secret-32b!", headers={"kid": "key-1"})
    with pytest.raises(IdTokenError, match="not accepted"):
        _verify(hmac, key_set)
    with pytest.raises(IdTokenError, match="malformed"):
        _verify("not.a.jwt", key_set)


def test_a_rotated_key_is_fetched_but_unknown_kids_cannot_force_downloads(keys: Keys) -> None:
    clock = FakeClock()
    key_set = KeySet(keys.jwks, refetch_after=5.0, clock=clock)
    _verify(keys.sign(nonce="n1"), key_set)
    clock.now += 10
    keys.add("key-2")
    assert _verify(keys.sign("key-2", nonce="n1"), key_set)["sub"] == "s"
    assert keys.downloads == 2
    forged = jwt.encode(
        {"iss": ISSUER, "sub": "s", "aud": CLIENT, "exp": int(clock.now) + 60, "iat": 0},
        keys.private["key-1"],
        algorithm="ES256",
        headers={"kid": "forged"},
    )
    for _ in range(5):  # a forged kid: at most one download per refetch interval
        with pytest.raises(IdTokenError, match="unknown key"):
            _verify(forged, key_set)
    assert keys.downloads == 2
    clock.now += 10
    with pytest.raises(IdTokenError, match="unknown key"):
        _verify(forged, key_set)
    assert keys.downloads == 3


def test_at_hash_uses_the_left_half_of_the_algorithms_hash() -> None:
    # OIDC Core §3.1.3.6: ES256 uses SHA-256 (16 of 32 bytes), EdDSA SHA-512 (32 of 64).
    assert len(left_half_hash("token", "ES256")) == 22
    assert len(left_half_hash("token", "EdDSA")) == 43
