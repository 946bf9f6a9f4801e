"""TokenService: ID tokens and RFC 9068 access tokens, checked with PyJWT and the JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from identity_service.compact_jws import CompactJws
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import SUPPORTED_ALGORITHMS, KeyStore
from identity_service.tokens import InvalidTokenError, TokenService, access_token_digest

ISSUER = "https://id.natid.test"
PASSPHRASE = b"token tests passphrase"
START = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _reset_clock(clock: FakeClock) -> None:
    clock.now = START


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("tokens") / "identity.db"
    engine = create_identity_engine(f"sqlite:///{path}")
    create_identity_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def keys(engine: Engine, clock: FakeClock) -> KeyStore:
    store = KeyStore(engine, PASSPHRASE, clock=clock)
    store.ensure_keys()
    return store


@pytest.fixture(scope="module")
def tokens(keys: KeyStore, clock: FakeClock) -> TokenService:
    return TokenService(keys, ISSUER, clock=clock)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _independent_left_half(value: str, hash_name: str) -> str:
    digest = hashlib.new(hash_name, value.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    signing_input = (
        _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    )
    return signing_input + "." + _b64url(signature)


def _verify_with_published_jwks(token: str, keys: KeyStore, audience: str) -> dict[str, object]:
    header = jwt.get_unverified_header(token)
    published = jwt.PyJWKSet.from_dict(keys.jwks())[header["kid"]]
    return jwt.decode(
        token,
        published,
        algorithms=[header["alg"]],
        audience=audience,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )


def _access_token(tokens: TokenService, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "client_id": "portal-tax",
        "subject": "pairwise-subject",
        "scope": "openid profile",
        "ttl": 600,
        "acr": "urn:natid:acr:level1",
        "auth_time": START - 30,
    }
    arguments.update(overrides)
    return tokens.access_token(**arguments)  # type: ignore[arg-type]


def test_left_half_hash_matches_the_openid_connect_core_examples() -> None:
    # OpenID Connect Core 1.0, Appendix A: an RS256 ID token's at_hash and c_hash.
    access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"

    assert TokenService.left_half_hash(access_token, "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"
    assert TokenService.left_half_hash(code, "RS256") == "LDktKdoQak3Pk0cnXxCltA"


@pytest.mark.parametrize(("alg", "hash_name"), [("ES256", "sha256"), ("EdDSA", "sha512")])
def test_left_half_hash_uses_the_algorithms_hash(alg: str, hash_name: str) -> None:
    value = "an-access-token-value"

    assert TokenService.left_half_hash(value, alg) == _independent_left_half(value, hash_name)


def test_left_half_hash_refuses_unknown_algorithms() -> None:
    with pytest.raises(ValueError):
        TokenService.left_half_hash("value", "none")


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_id_token_verifies_with_the_published_jwks(
    alg: str, tokens: TokenService, keys: KeyStore
) -> None:
    access_token = _access_token(tokens)
    code = "authorization-code-value"

    token = tokens.id_token(
        client_id="portal-tax",
        subject="pairwise-subject",
        alg=alg,
        ttl=600,
        auth_time=START - 30,
        nonce="n-0S6_WzA2Mj",
        acr="urn:natid:acr:level2",
        amr=["pwd", "otp", "mfa"],
        sid="session-id",
        access_token=access_token,
        code=code,
        extra_claims={"name": "Nguyễn Văn An"},
    )

    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["kid"] == keys.signing_key(alg).kid
    claims = _verify_with_published_jwks(token, keys, audience="portal-tax")
    hash_name = "sha512" if alg == "EdDSA" else "sha256"
    assert claims == {
        "iss": ISSUER,
        "sub": "pairwise-subject",
        "aud": "portal-tax",
        "azp": "portal-tax",
        "iat": int(START),
        "exp": int(START) + 600,
        "auth_time": int(START) - 30,
        "nonce": "n-0S6_WzA2Mj",
        "acr": "urn:natid:acr:level2",
        "amr": ["pwd", "otp", "mfa"],
        "sid": "session-id",
        "at_hash": _independent_left_half(access_token, hash_name),
        "c_hash": _independent_left_half(code, hash_name),
        "name": "Nguyễn Văn An",
    }


def test_id_token_leaves_out_claims_that_were_not_given(
    tokens: TokenService, keys: KeyStore
) -> None:
    token = tokens.id_token(
        client_id="portal-health", subject="s", alg="ES256", ttl=300, auth_time=START
    )

    claims = _verify_with_published_jwks(token, keys, audience="portal-health")
    assert not {"nonce", "at_hash", "c_hash", "sid", "acr", "amr"} & claims.keys()


def test_extra_claims_cannot_override_protocol_claims(tokens: TokenService) -> None:
    with pytest.raises(ValueError, match="sub"):
        tokens.id_token(
            client_id="portal-tax",
            subject="s",
            alg="ES256",
            ttl=300,
            auth_time=START,
            extra_claims={"sub": "someone-else"},
        )
    with pytest.raises(ValueError, match="client_id"):
        _access_token(tokens, extra_claims={"client_id": "another-portal"})


def test_access_token_follows_rfc9068(tokens: TokenService, keys: KeyStore) -> None:
    token = _access_token(tokens, jti="token-id-1")

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": keys.signing_key("ES256").kid, "typ": "at+jwt"}
    expected = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": "pairwise-subject",
        "client_id": "portal-tax",
        "iat": int(START),
        "exp": int(START) + 600,
        "jti": "token-id-1",
        "scope": "openid profile",
        "acr": "urn:natid:acr:level1",
        "auth_time": int(START) - 30,
    }
    assert _verify_with_published_jwks(token, keys, audience=ISSUER) == expected
    assert tokens.verify_access_token(token) == expected


def test_access_tokens_get_distinct_token_ids(tokens: TokenService) -> None:
    first = tokens.verify_access_token(_access_token(tokens))
    second = tokens.verify_access_token(_access_token(tokens))

    assert first["jti"] != second["jti"]


def test_access_token_expires(tokens: TokenService, clock: FakeClock) -> None:
    token = _access_token(tokens, ttl=60)
    clock.now = START + 59
    assert tokens.verify_access_token(token)["sub"] == "pairwise-subject"

    clock.now = START + 60
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify_access_token(token)


def test_alg_none_is_refused(tokens: TokenService, keys: KeyStore) -> None:
    genuine = tokens.verify_access_token(_access_token(tokens))
    header = {"alg": "none", "typ": "at+jwt", "kid": keys.signing_key("ES256").kid}

    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(_forge(header, genuine))


def test_hs256_signed_with_the_public_key_is_refused(tokens: TokenService, keys: KeyStore) -> None:
    genuine = tokens.verify_access_token(_access_token(tokens))
    signing = keys.signing_key("ES256")
    public_pem = signing.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signing.kid}
    unsigned = _forge(header, genuine).rsplit(".", 1)[0]
    for secret in (public_pem, json.dumps(keys.jwks()["keys"][0]).encode()):
        signature = hmac.new(secret, unsigned.encode("ascii"), hashlib.sha256).digest()
        with pytest.raises(InvalidTokenError):
            tokens.verify_access_token(unsigned + "." + _b64url(signature))


def test_an_id_token_is_not_an_access_token(tokens: TokenService) -> None:
    id_token = tokens.id_token(
        client_id="portal-tax", subject="s", alg="ES256", ttl=300, auth_time=START
    )

    with pytest.raises(InvalidTokenError, match="typ"):
        tokens.verify_access_token(id_token)


def test_unknown_kid_is_refused(tokens: TokenService) -> None:
    genuine = tokens.verify_access_token(_access_token(tokens))
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(
        genuine, stranger, algorithm="ES256", headers={"kid": "unknown-kid", "typ": "at+jwt"}
    )

    with pytest.raises(InvalidTokenError, match="unknown key"):
        tokens.verify_access_token(forged)


def test_right_kid_with_a_strangers_signature_is_refused(
    tokens: TokenService, keys: KeyStore
) -> None:
    genuine = tokens.verify_access_token(_access_token(tokens))
    stranger = ec.generate_private_key(ec.SECP256R1())
    headers = {"kid": keys.signing_key("ES256").kid, "typ": "at+jwt"}
    forged = jwt.encode(genuine, stranger, algorithm="ES256", headers=headers)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(forged)


def _tampered(token: str) -> tuple[str, str]:
    """``token`` with one signature character changed, and with a wider scope."""
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "openid national_id"
    other_payload = _b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{flipped}", f"{header}.{other_payload}.{signature}"


def test_tampered_tokens_are_refused(tokens: TokenService) -> None:
    for tampered in _tampered(_access_token(tokens)):
        with pytest.raises(InvalidTokenError):
            tokens.verify_access_token(tampered)


def _stored_digest_of(token: str) -> Callable[[str], str | None]:
    """What the token records would answer for the token issued as ``token``."""
    jti = tokens_jti(token)
    return lambda asked: access_token_digest(token) if asked == jti else None


def tokens_jti(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def test_a_token_its_record_names_by_digest_is_not_verified_again(
    tokens: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _access_token(tokens)
    checked: list[str] = []
    original = CompactJws.signed_by

    def counting(jws: CompactJws, public_key: object, alg: str) -> bool:
        checked.append(alg)
        return original(jws, public_key, alg)

    monkeypatch.setattr(CompactJws, "signed_by", counting)
    claims = tokens.verify_access_token(token, issued_digest=_stored_digest_of(token))
    assert claims["jti"] == tokens_jti(token) and checked == []
    # Without a record, or with the record of another token, the signature is checked.
    tokens.verify_access_token(token, issued_digest=lambda _jti: None)
    tokens.verify_access_token(token, issued_digest=_stored_digest_of(_access_token(tokens)))
    assert checked == ["ES256", "ES256"]


def test_a_tampered_token_is_refused_though_its_jti_has_a_record(tokens: TokenService) -> None:
    token = _access_token(tokens)
    record = _stored_digest_of(token)  # the genuine token's record, found by the same jti
    for tampered in _tampered(token):
        with pytest.raises(InvalidTokenError):
            tokens.verify_access_token(tampered, issued_digest=record)


def test_a_recorded_token_still_expires(tokens: TokenService, clock: FakeClock) -> None:
    token = _access_token(tokens, ttl=60)
    clock.now += 61
    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(token, issued_digest=_stored_digest_of(token))


def test_a_token_has_one_spelling(tokens: TokenService) -> None:
    # An ES256 signature is 64 bytes: its last base64url character carries 4 unused bits.
    # Another value of those bits decodes to the same signature: the same token spelled
    # differently, which a cache or a revocation list keyed by the text would miss.
    token = _access_token(tokens)
    head, last = token[:-1], token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    position = alphabet.index(last)
    respelled = head + alphabet[position ^ 0b0001]
    assert base64.urlsafe_b64decode(respelled.split(".")[2] + "==") == (
        base64.urlsafe_b64decode(token.split(".")[2] + "==")
    )
    assert tokens.verify_access_token(token)["jti"]

    with pytest.raises(InvalidTokenError, match="canonical"):
        tokens.verify_access_token(respelled)


def test_claims_that_are_not_a_json_object_are_refused(
    tokens: TokenService, keys: KeyStore
) -> None:
    key = keys.signing_key("ES256")
    header = _b64url(json.dumps({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}).encode())
    for payload in (b"[1, 2]", b"\xff\xfe", b'"text"'):
        signing_input = f"{header}.{_b64url(payload)}".encode()
        signature = jwt.get_algorithm_by_name("ES256").sign(signing_input, key.private_key)
        token = f"{signing_input.decode()}.{_b64url(signature)}"
        with pytest.raises(InvalidTokenError, match="malformed"):
            tokens.verify_access_token(token)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "e30.e30.", "...."])
def test_garbage_is_refused(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(garbage)


def test_another_issuers_token_is_refused(tokens: TokenService, keys: KeyStore) -> None:
    impostor = TokenService(keys, "https://evil.example")

    with pytest.raises(InvalidTokenError):
        tokens.verify_access_token(_access_token(impostor))


def test_invalid_token_error_is_a_pyjwt_error() -> None:
    assert issubclass(InvalidTokenError, jwt.InvalidTokenError)


def test_tokens_signed_before_rotation_verify_until_the_old_key_retires(tmp_path: Path) -> None:
    clock = FakeClock()
    engine = create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    create_identity_schema(engine)
    store = KeyStore(engine, PASSPHRASE, clock=clock)
    store.rotate("ES256", retain_seconds=0)  # the first key: nothing to retire yet
    service = TokenService(store, ISSUER, clock=clock)
    before = _access_token(service, ttl=600)
    longer_than_retention = _access_token(service, ttl=3600)

    store.rotate("ES256", retain_seconds=600)
    after = _access_token(service, ttl=3600)

    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    clock.now = START + 599
    assert service.verify_access_token(before)["sub"] == "pairwise-subject"
    assert service.verify_access_token(longer_than_retention)["sub"] == "pairwise-subject"

    clock.now = START + 600
    store.retire_expired()
    assert service.verify_access_token(after)["sub"] == "pairwise-subject"
    # Once its key retires, a token fails as unknown-key even if it claims a longer life.
    with pytest.raises(InvalidTokenError, match="unknown key"):
        service.verify_access_token(longer_than_retention)
    engine.dispose()
