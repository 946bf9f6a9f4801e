"""Offline ID-token verification and the JWKS cache, with keys made here (no IdP)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from portals.common.errors import IdTokenError, InsufficientLevelError
from portals.common.id_tokens import IdTokenVerifier, left_half_hash
from portals.common.jwks import JwksCache, UnknownSigningKeyError
from portals.common.levels import ACR_LEVEL1, ACR_LEVEL2
from tests.portals.support import FakeClock

pytestmark = pytest.mark.anyio

ISSUER = "https://id.example.test"
CLIENT_ID = "portal-under-test"
NONCE = "nonce-of-this-login"


class SigningKey:
    def __init__(self, kid: str, alg: str) -> None:
        self.kid, self.alg = kid, alg
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header}
        )


@pytest.fixture(scope="module")
def es_key() -> SigningKey:
    return SigningKey("es-1", "ES256")


@pytest.fixture(scope="module")
def ed_key() -> SigningKey:
    return SigningKey("ed-1", "EdDSA")


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-1", "RS256")


class KeyServer:
    """Stands in for the IdP's jwks_uri and counts the fetches."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [key.public_jwk() for key in self.keys]}


def claims_for(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock())
    claims = {
        "iss": ISSUER,
        "sub": "pairwise-subject",
        "aud": CLIENT_ID,
        "exp": now + 600,
        "iat": now,
        "nonce": NONCE,
        "acr": ACR_LEVEL1,
        "amr": ["pwd"],
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def verifier_for(server: KeyServer, clock: FakeClock) -> IdTokenVerifier:
    cache = JwksCache(server.fetch, min_refetch_seconds=10, clock=clock)
    return IdTokenVerifier(
        cache,
        issuer=ISSUER,
        client_id=CLIENT_ID,
        algorithms=["ES256", "EdDSA", "RS256"],
        clock_skew_seconds=60,
        clock=clock,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.mark.parametrize("key_name", ["es_key", "ed_key", "rsa_key"])
async def test_a_valid_token_is_accepted_with_each_algorithm(
    key_name: str, request: pytest.FixtureRequest, clock: FakeClock
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    token = key.sign(claims_for(clock))
    claims = await verifier_for(KeyServer(key), clock).verify(token, nonce=NONCE, min_level=1)
    assert claims["sub"] == "pairwise-subject"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example.test"}, "another issuer"),
        ({"aud": "another-portal"}, "not issued to this portal"),
        ({"aud": [CLIENT_ID, "another-portal"]}, "azp"),
        ({"azp": "another-portal"}, "azp"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "the sub claim is missing"),
    ],
)
async def test_claims_that_do_not_fit_this_login_are_rejected(
    es_key: SigningKey, clock: FakeClock, overrides: dict[str, Any], reason: str
) -> None:
    token = es_key.sign(claims_for(clock, **overrides))
    with pytest.raises(IdTokenError, match=reason):
        await verifier_for(KeyServer(es_key), clock).verify(token, nonce=NONCE, min_level=1)


async def test_expiry_and_issue_time_follow_the_portal_clock_with_skew(
    es_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(KeyServer(es_key), clock)
    token = es_key.sign(claims_for(clock, exp=int(clock()) + 30))
    clock.advance(80)  # 30 s past exp, within the 60 s skew
    await verifier.verify(token, nonce=NONCE, min_level=1)
    clock.advance(40)
    with pytest.raises(IdTokenError, match="expired"):
        await verifier.verify(token, nonce=NONCE, min_level=1)
    future = es_key.sign(claims_for(clock, iat=int(clock()) + 300))
    with pytest.raises(IdTokenError, match="future"):
        await verifier.verify(future, nonce=NONCE, min_level=1)


async def test_a_tampered_payload_fails_the_signature(es_key: SigningKey, clock: FakeClock) -> None:
    header, payload, signature = es_key.sign(claims_for(clock)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["acr"] = ACR_LEVEL2
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(IdTokenError, match="bad signature"):
        await verifier_for(KeyServer(es_key), clock).verify(
            f"{header}.{forged}.{signature}", nonce=NONCE, min_level=1
        )


async def test_unsigned_and_hmac_tokens_are_refused(es_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(KeyServer(es_key), clock)
    unsigned = jwt.encode(claims_for(clock), None, algorithm="none", headers={"kid": es_key.kid})
    with pytest.raises(IdTokenError, match="not accepted"):
        await verifier.verify(unsigned, nonce=NONCE, min_level=1)
    # The classic key-confusion attack: HMAC keyed with the published public key.
    public_pem = es_key.public_jwk()["x"].encode()
    hmac_token = jwt.encode(claims_for(clock), public_pem, algorithm="HS256")
    with pytest.raises(IdTokenError, match="not accepted"):
        await verifier.verify(hmac_token, nonce=NONCE, min_level=1)


async def test_an_alg_header_that_does_not_match_the_key_is_refused(
    es_key: SigningKey, rsa_key: SigningKey, clock: FakeClock
) -> None:
    # An RS256 token claiming the ES256 key's kid.
    token = rsa_key.sign(claims_for(clock), kid=es_key.kid)
    with pytest.raises(IdTokenError, match="does not match"):
        await verifier_for(KeyServer(es_key), clock).verify(token, nonce=NONCE, min_level=1)


async def test_the_level_must_reach_the_level_asked(es_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(KeyServer(es_key), clock)
    level1 = es_key.sign(claims_for(clock))
    with pytest.raises(InsufficientLevelError) as raised:
        await verifier.verify(level1, nonce=NONCE, min_level=2)
    assert (raised.value.achieved, raised.value.required) == (1, 2)
    unknown = es_key.sign(claims_for(clock, acr="urn:other:loa:high"))
    with pytest.raises(InsufficientLevelError):
        await verifier.verify(unknown, nonce=NONCE, min_level=1)
    level2 = es_key.sign(claims_for(clock, acr=ACR_LEVEL2))
    assert (await verifier.verify(level2, nonce=NONCE, min_level=2))["acr"] == ACR_LEVEL2


async def test_at_hash_binds_the_access_token(ed_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(KeyServer(ed_key), clock)
    access_token = "an-access-token"
    token = ed_key.sign(claims_for(clock, at_hash=left_half_hash(access_token, "EdDSA")))
    await verifier.verify(token, nonce=NONCE, min_level=1, access_token=access_token)
    with pytest.raises(IdTokenError, match="at_hash"):
        await verifier.verify(token, nonce=NONCE, min_level=1, access_token="another-token")


def test_left_half_hash_follows_oidc_core() -> None:
    digest = hashlib.sha256(b"token").digest()[:16]
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert left_half_hash("token", "ES256") == expected
    assert len(left_half_hash("token", "EdDSA")) == len(
        base64.urlsafe_b64encode(hashlib.sha512(b"token").digest()[:32]).rstrip(b"=")
    )


async def test_the_key_set_is_fetched_once_and_refetched_for_a_new_kid(
    es_key: SigningKey, clock: FakeClock
) -> None:
    server = KeyServer(es_key)
    verifier = verifier_for(server, clock)
    for _ in range(3):
        await verifier.verify(es_key.sign(claims_for(clock)), nonce=NONCE, min_level=1)
    assert server.fetches == 1
    rotated = SigningKey("es-2", "ES256")
    server.keys = [es_key, rotated]
    clock.advance(11)
    await verifier.verify(rotated.sign(claims_for(clock)), nonce=NONCE, min_level=1)
    assert server.fetches == 2


async def test_unknown_kids_cannot_make_the_portal_hammer_the_jwks(
    es_key: SigningKey, clock: FakeClock
) -> None:
    server = KeyServer(es_key)
    cache = JwksCache(server.fetch, min_refetch_seconds=10, clock=clock)
    await cache.key(es_key.kid)
    for attempt in range(5):
        with pytest.raises(UnknownSigningKeyError):
            await cache.key(f"forged-{attempt}")
    assert server.fetches == 1
    clock.advance(10)
    with pytest.raises(UnknownSigningKeyError):
        await cache.key("forged-again")
    assert server.fetches == 2


async def test_a_refetch_drops_retired_keys_and_skips_unusable_entries(
    es_key: SigningKey, ed_key: SigningKey, clock: FakeClock
) -> None:
    server = KeyServer(es_key, ed_key)
    cache = JwksCache(server.fetch, min_refetch_seconds=0, clock=clock)
    await cache.key(es_key.kid)
    assert cache.known_key_ids() == {es_key.kid, ed_key.kid}
    server.keys = [ed_key]
    with pytest.raises(UnknownSigningKeyError):
        await cache.key("new-kid")
    assert cache.known_key_ids() == {ed_key.kid}

    async def odd_document() -> dict[str, Any]:
        return {
            "keys": [
                {"kty": "oct", "k": "c2VjcmV0", "kid": "symmetric"},
                {**es_key.public_jwk(), "use": "enc", "kid": "encryption"},
                {"kty": "EC", "crv": "P-256", "kid": "broken"},
                es_key.public_jwk(),
            ]
        }

    odd = JwksCache(odd_document, min_refetch_seconds=0, clock=clock)
    await odd.key(es_key.kid)
    assert odd.known_key_ids() == {es_key.kid}


async def test_an_ec_key_on_another_curve_than_its_alg_names_is_not_used(
    clock: FakeClock,
) -> None:
    # RFC 7518 §3.4: ES256 is P-256. A P-384 key published as ES256 would let a verifier
    # that trusts the alg take a signature on the wrong curve.
    p384 = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(p384.public_key()))

    async def document() -> dict[str, Any]:
        return {"keys": [{**jwk, "kid": "mislabelled", "alg": "ES256", "use": "sig"}]}

    cache = JwksCache(document, min_refetch_seconds=0, clock=clock)
    with pytest.raises(UnknownSigningKeyError):
        await cache.key("mislabelled")


async def test_a_header_that_verified_once_is_read_the_same_way_again(
    es_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(KeyServer(es_key), clock)
    token = es_key.sign(claims_for(clock))
    first = await verifier.verify(token, nonce=NONCE, min_level=1)
    # The same header (now remembered) on a forged payload still fails the signature.
    header, _, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        json.dumps(claims_for(clock, sub="someone-else")).encode()
    ).rstrip(b"=")
    with pytest.raises(IdTokenError, match="bad signature"):
        await verifier.verify(
            f"{header}.{forged_payload.decode()}.{signature}", nonce=NONCE, min_level=1
        )
    assert await verifier.verify(token, nonce=NONCE, min_level=1) == first


@pytest.mark.parametrize(
    "header_json",
    [
        b' {"alg":"ES256","kid":"es-1"}',  # whitespace around the object is JSON too
        b'{"alg":"ES256","kid":"es-1"}\n',
    ],
)
async def test_a_header_with_whitespace_around_it_is_read(
    header_json: bytes, es_key: SigningKey, clock: FakeClock
) -> None:
    header = base64.urlsafe_b64encode(header_json).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims_for(clock)).encode()).rstrip(b"=")
    signing_input = f"{header}.{payload.decode()}".encode()
    signature = jwt.get_algorithm_by_name("ES256").sign(signing_input, es_key.private)
    token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    claims = await verifier_for(KeyServer(es_key), clock).verify(token, nonce=NONCE, min_level=1)
    assert claims["sub"] == "pairwise-subject"


@pytest.mark.parametrize(
    "payload_json",
    [b'{"sub":"a"} {"sub":"b"}', b'["not", "an", "object"]', b"\xff\xfe{}", b'{"sub":"a"}x'],
)
async def test_a_payload_that_is_not_one_utf8_json_object_is_refused(
    payload_json: bytes, es_key: SigningKey, clock: FakeClock
) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"es-1"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(payload_json).rstrip(b"=").decode()
    signing_input = f"{header}.{payload}".encode()
    signature = jwt.get_algorithm_by_name("ES256").sign(signing_input, es_key.private)
    token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(IdTokenError, match="not a JWT"):
        await verifier_for(KeyServer(es_key), clock).verify(token, nonce=NONCE, min_level=1)
