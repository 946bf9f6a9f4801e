"""Writing compact JWS: the bytes jwt.encode writes, signatures any JOSE library accepts."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from identity_service.compact_jws import parse_compact_jws, sign_compact_jws

KEYS: dict[str, Any] = {
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "ES384": ec.generate_private_key(ec.SECP384R1()),
    "ES512": ec.generate_private_key(ec.SECP521R1()),
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "PS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}
CLAIMS = {"iss": "https://id.natid.test", "sub": "bench-bank", "iat": 1764740000, "n": [1, 2]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("alg", sorted(KEYS))
@pytest.mark.parametrize("typ", [None, "at+jwt"])
def test_a_token_is_what_jwt_encode_writes_and_verifies_with_pyjwt(
    alg: str, typ: str | None
) -> None:
    key = KEYS[alg]
    headers = {"kid": "k-1"} if typ is None else {"kid": "k-1", "typ": typ}
    ours = (
        sign_compact_jws(CLAIMS, key, alg, kid="k-1")
        if typ is None
        else sign_compact_jws(CLAIMS, key, alg, kid="k-1", typ=typ)
    )
    theirs = jwt.encode(CLAIMS, key, algorithm=alg, headers=headers)
    # Header and payload byte for byte; the signatures differ (ECDSA, PSS are randomised).
    assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
    assert jwt.decode(ours, key.public_key(), algorithms=[alg], options={"verify_iat": False})
    parsed = parse_compact_jws(ours)  # canonical spelling, as our own checks demand it
    assert parsed.signed_by(key.public_key(), alg)
    assert parsed.header == {"alg": alg, "kid": "k-1", "typ": typ or "JWT"}


@settings(max_examples=100, deadline=None)
@given(claims=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_any_json_claims_are_written_as_jwt_encode_writes_them(claims: dict[str, Any]) -> None:
    key = KEYS["ES256"]
    ours = sign_compact_jws(claims, key, "ES256", kid="k-2", typ="kyc-result+jwt")
    theirs = jwt.encode(
        claims, key, algorithm="ES256", headers={"kid": "k-2", "typ": "kyc-result+jwt"}
    )
    assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
    assert parse_compact_jws(ours).claims == claims


def test_a_key_of_another_curve_or_an_unsigned_token_is_refused() -> None:
    with pytest.raises(ValueError):
        sign_compact_jws(CLAIMS, KEYS["ES384"], "ES256", kid="k")
    with pytest.raises(ValueError):
        sign_compact_jws(CLAIMS, KEYS["ES256"], "none", kid="k")
