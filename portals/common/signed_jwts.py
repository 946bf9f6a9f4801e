"""The checks every JWT the IdP signs must pass before a portal reads its claims.

ID tokens, back-channel logout tokens and e-KYC answers share them: the header names an
algorithm the IdP advertises (asymmetric only: never ``none`` or an HMAC keyed with a
public value) and a ``kid``; the key comes from the cached JWKS (``JwksCache``) and must
be a key for that algorithm; the signature verifies; ``iss`` is the IdP; ``aud`` names
this party; the required claims are present; and, where a token type is expected, the
``typ`` header says it (RFC 8725 §3.11: explicit typing keeps one kind of token from
being accepted as another). Times and the claims particular to each kind of token are
left to the caller, which knows its own clock and rules.

The token is parsed once: a canonical compact JWS (RFC 7515 §2: three base64url segments
without padding, checked by one regular expression and the signature's unused bits), its
header and payload UTF-8 JSON objects. ES256, what natid signs with by default, is
verified by ``cryptography`` directly (raw ``r || s`` to DER, one shared ``ECDSA``
object); the other algorithms by PyJWT's algorithm objects over ``cryptography``.
``jwt.decode`` is not used on this path because its per-character segment checks cost
twice the signature itself (``scripts/bench_id_token_verify.py``). A header that has
already come with a valid signature is remembered parsed (a few per key set: the IdP's
``alg``/``kid``/``typ`` combinations), so a portal's steady state parses only payloads;
a header that never verified is never remembered, so forged ones cannot fill the memory.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable, Collection, Iterable
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import get_default_algorithms

from portals.common.jwks import JwksCache, UnknownSigningKeyError

ACCEPTABLE_ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
MAX_JWT_LENGTH = 16_384
# The signature may be empty here (an unsigned token), to be refused by its alg.
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Headers that came with a valid signature, parsed; cleared when full (see the docstring).
_VERIFIED_HEADERS: dict[str, dict[str, Any]] = {}
_MAX_VERIFIED_HEADERS = 32
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_JSON = json.JSONDecoder()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class SignedJwtError(Exception):
    """The JWT failed a check; the message says which (never the token itself)."""


class VerifiedJwt(NamedTuple):
    header: dict[str, Any]
    claims: dict[str, Any]


async def verify_jwt(
    token: str,
    keys: JwksCache,
    *,
    issuer: str,
    audience: str,
    algorithms: Collection[str],
    required: Iterable[str],
    token_type: str | None = None,
    type_required: bool = False,
) -> VerifiedJwt:
    """The header and claims of ``token`` once signature, ``iss``, ``aud`` and ``typ``
    check out.

    ``token_type`` (e.g. ``logout+jwt``) is compared case-insensitively, with or without
    the ``application/`` prefix; a token without ``typ`` passes unless ``type_required``.
    """
    header_text, header, claims, signing_input, signature = _parts(token)
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ACCEPTABLE_ALGORITHMS or alg not in algorithms:
        raise SignedJwtError(f"algorithm {alg!r} not accepted")
    if not isinstance(kid, str) or not kid:
        raise SignedJwtError("no key id in the header")
    if token_type is not None:
        _check_type(header.get("typ"), token_type, type_required)
    key = keys.cached(kid)
    if key is None:
        try:
            key = await keys.key(kid)
        except UnknownSigningKeyError:
            raise SignedJwtError("signed with a key the IdP does not publish") from None
    if key.algorithm_name != alg:
        raise SignedJwtError("the header's alg does not match the key's")
    if not _VERIFIERS[alg](signing_input, key.key, signature):
        raise SignedJwtError("bad signature")
    if header_text not in _VERIFIED_HEADERS:
        if len(_VERIFIED_HEADERS) >= _MAX_VERIFIED_HEADERS:
            _VERIFIED_HEADERS.clear()
        _VERIFIED_HEADERS[header_text] = dict(header)
    for name in required:
        if name not in claims:
            raise SignedJwtError(f"the {name} claim is missing")
    if claims.get("iss") != issuer:
        raise SignedJwtError("issued by another issuer")
    named = claims.get("aud")
    if not (named == audience or (isinstance(named, list) and audience in named)):
        raise SignedJwtError("not issued to this portal")
    return VerifiedJwt(header, claims)


def _parts(token: str) -> tuple[str, dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header segment, header, claims, signing input and signature of a canonical
    compact JWS."""
    if not isinstance(token, str) or len(token) > MAX_JWT_LENGTH:
        raise SignedJwtError("not a JWT")
    match = _COMPACT_JWS.fullmatch(token)
    if match is None:
        raise SignedJwtError("not a JWT")
    header_text = match[1]
    remembered = _VERIFIED_HEADERS.get(header_text)
    # A copy: the caller may keep or change what it is given.
    header = dict(remembered) if remembered is not None else _json_object(header_text)
    claims = _json_object(match[2])
    signing_input = token[: match.end(2)].encode("ascii")
    # Header and payload are signed as they are spelled; the signature's spelling is not
    # signed, so only its canonical one is taken (one token, one spelling).
    signature_text = match[3]
    if len(signature_text) % 4 == 1 or (
        signature_text
        and _BASE64URL.index(signature_text[-1]) & _UNUSED_BITS[len(signature_text) % 4]
    ):
        raise SignedJwtError("not a JWT")  # unused trailing bits set: another spelling
    return header_text, header, claims, signing_input, _segment(signature_text)


# The low bits of a segment's last character that carry no data, by length modulo 4.
_UNUSED_BITS = {0: 0, 2: 0b1111, 3: 0b11}


def _segment(text: str) -> bytes:
    """A base64url segment's bytes (the regular expression has checked its alphabet)."""
    try:
        padded = (text + "=" * (-len(text) % 4)).encode("ascii")
        return binascii.a2b_base64(padded.translate(_URLSAFE_TO_STANDARD))
    except (binascii.Error, ValueError):
        raise SignedJwtError("not a JWT") from None


def _json_object(segment: str) -> dict[str, Any]:
    """A segment's JSON object: UTF-8 (RFC 7515 §5.2), nothing but whitespace around it."""
    try:
        text = _segment(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise SignedJwtError("not a JWT") from None
    try:
        value, end = _JSON.raw_decode(text)  # a third faster than json.loads
    except ValueError:
        value, end = None, -1
    if end != len(text):
        # raw_decode takes no whitespace around the value, which JSON allows.
        try:
            value = json.loads(text)
        except ValueError:
            raise SignedJwtError("not a JWT") from None
    if not isinstance(value, dict):
        raise SignedJwtError("not a JWT")
    return value


def _verify_es256(signing_input: bytes, key: Any, signature: bytes) -> bool:
    # The key is a P-256 public key: JwksCache keeps no other under ES256.
    if len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def _verify_with_pyjwt(name: str) -> Callable[[bytes, Any, bytes], bool]:
    algorithm = get_default_algorithms()[name]

    def verify(signing_input: bytes, key: Any, signature: bytes) -> bool:
        try:
            return bool(algorithm.verify(signing_input, key, signature))
        except (ValueError, TypeError):
            return False

    return verify


_VERIFIERS: dict[str, Callable[[bytes, Any, bytes], bool]] = {
    name: _verify_es256 if name == "ES256" else _verify_with_pyjwt(name)
    for name in ACCEPTABLE_ALGORITHMS
}


def _check_type(typ: object, expected: str, required: bool) -> None:
    if typ is None and not required:
        return
    if not isinstance(typ, str):
        raise SignedJwtError(f"the typ header must be {expected}")
    normalised = typ.lower().removeprefix("application/")
    if normalised != expected.lower():
        raise SignedJwtError(f"the typ header must be {expected}")
