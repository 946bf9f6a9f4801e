"""JWK helpers: generated keys, their public members, thumbprints, refusals."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity_service.jwk import (
    SUPPORTED_ALGORITHMS,
    JwkError,
    generate_private_key,
    jwk_thumbprint,
    public_jwk_members,
)

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

# RFC 8037 Appendix A.2/A.3: the example Ed25519 public key and its thumbprint.
RFC8037_PUBLIC_KEY = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprint_matches_rfc8037_example() -> None:
    assert jwk_thumbprint(RFC8037_PUBLIC_KEY) == RFC8037_THUMBPRINT


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_public_members_verify_a_signature_by_the_private_key(alg: str) -> None:
    private_key = generate_private_key(alg)
    members = public_jwk_members(private_key.public_key())

    assert not PRIVATE_JWK_MEMBERS & members.keys()
    token = jwt.encode({"probe": alg}, private_key, algorithm=alg)
    public = jwt.PyJWK({**members, "alg": alg})
    assert jwt.decode(token, public, algorithms=[alg]) == {"probe": alg}


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_thumbprint_depends_only_on_the_key(alg: str) -> None:
    members = public_jwk_members(generate_private_key(alg).public_key())
    other = public_jwk_members(generate_private_key(alg).public_key())

    decorated = {**members, "kid": "anything", "use": "sig", "alg": alg}
    assert jwk_thumbprint(decorated) == jwk_thumbprint(members)
    assert jwk_thumbprint(other) != jwk_thumbprint(members)


def test_unsupported_algorithm_is_refused() -> None:
    with pytest.raises(JwkError, match="unsupported signing algorithm"):
        generate_private_key("HS256")


def test_curves_other_than_p256_are_refused() -> None:
    with pytest.raises(JwkError, match="unsupported curve"):
        public_jwk_members(ec.generate_private_key(ec.SECP384R1()).public_key())


def test_thumbprint_of_an_incomplete_or_unknown_jwk_is_refused() -> None:
    with pytest.raises(JwkError, match="'y'"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AAAA"})
    with pytest.raises(JwkError, match="unsupported JWK key type"):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(JwkError, match="unsupported JWK key type"):
        jwk_thumbprint({"n": "AQAB"})
