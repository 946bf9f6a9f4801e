"""JSON Web Keys: key generation per algorithm, public JWK members and RFC 7638 thumbprints.

Pure functions over ``cryptography`` key objects, with no storage: the key store
(``identity_service.keys``) uses them to mint keys and kids, and anything else that needs a
thumbprint or the public half of a key (client keys for ``private_key_jwt``, tests) can use
them without pulling in the database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SUPPORTED_ALGORITHMS = ("ES256", "EdDSA", "RS256")
RSA_KEY_BITS = 2048

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

# RFC 7638 §3.2: the required members per key type, which alone enter the thumbprint.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


class JwkError(ValueError):
    """A key or JWK this module does not support, or a JWK missing a required member."""


def generate_private_key(alg: str) -> PrivateKey:
    """A fresh private key for ``alg`` (P-256, Ed25519 or RSA 2048)."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    raise JwkError(f"unsupported signing algorithm {alg!r}")


def public_jwk_members(public_key: PublicKey) -> dict[str, str]:
    """The required public members of a JWK (RFC 7517/7518/8037), nothing private."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise JwkError(f"unsupported curve {public_key.curve.name}")
        numbers = public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {
            "kty": "RSA",
            "n": b64url(_uint_bytes(numbers.n)),
            "e": b64url(_uint_bytes(numbers.e)),
        }
    raise JwkError(f"unsupported key type {type(public_key).__name__}")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: base64url SHA-256 of the required members, sorted, no spaces."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise JwkError(f"unsupported JWK key type {jwk.get('kty')!r}")
    try:
        canonical = {name: jwk[name] for name in members}
    except KeyError as missing:
        raise JwkError(f"JWK lacks required member {missing}") from None
    encoded = json.dumps(canonical, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url(hashlib.sha256(encoded.encode("utf-8")).digest())


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JOSE encodes binary values."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _uint_bytes(value: int) -> bytes:
    # RFC 7518 §6.3.1: big-endian, minimal length (at least one octet).
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
