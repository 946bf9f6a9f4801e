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
without padding, checked by one regular expression and a re-encoding), its header and
payload JSON objects. The signature is verified by PyJWT's algorithm objects over
``cryptography``; ``jwt.decode`` is not used on this path because its per-character
segment checks cost twice the signature itself (``scripts/bench_id_token_verify.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import get_default_algorithms

from portals.common.jwks import JwksCache, UnknownSigningKeyError

ACCEPTABLE_ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
MAX_JWT_LENGTH = 16_384
# The signature may be empty here (an unsigned token), to be refused by its alg.
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")
_ALGORITHMS = {
    name: algorithm
    for name, algorithm in get_default_algorithms().items()
    if name in ACCEPTABLE_ALGORITHMS
}


class SignedJwtError(Exception):
    """The JWT failed a check; the message says which (never the token itself)."""


@dataclass(frozen=True, slots=True)
class VerifiedJwt:
    header: dict[str, Any]
    claims: dict[str, Any]


async def verify_jwt(
    token: str,
    keys: JwksCache,
    *,
    issuer: str,
    audience: str,
    algorithms: Iterable[str],
    required: Iterable[str],
    token_type: str | None = None,
    type_required: bool = False,
) -> VerifiedJwt:
    """The header and claims of ``token`` once signature, ``iss``, ``aud`` and ``typ``
    check out.

    ``token_type`` (e.g. ``logout+jwt``) is compared case-insensitively, with or without
    the ``application/`` prefix; a token without ``typ`` passes unless ``type_required``.
    """
    header, claims, signing_input, signature = _parts(token)
    accepted = frozenset(algorithms) & ACCEPTABLE_ALGORITHMS
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in accepted:
        raise SignedJwtError(f"algorithm {alg!r} not accepted")
    if not isinstance(kid, str) or not kid:
        raise SignedJwtError("no key id in the header")
    if token_type is not None:
        _check_type(header.get("typ"), token_type, type_required)
    try:
        key = await keys.key(kid)
    except UnknownSigningKeyError:
        raise SignedJwtError("signed with a key the IdP does not publish") from None
    if key.algorithm_name != alg:
        raise SignedJwtError("the header's alg does not match the key's")
    try:
        valid = _ALGORITHMS[alg].verify(signing_input, key.key, signature)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise SignedJwtError("bad signature")
    for name in required:
        if name not in claims:
            raise SignedJwtError(f"the {name} claim is missing")
    if claims.get("iss") != issuer:
        raise SignedJwtError("issued by another issuer")
    named = claims.get("aud")
    if not (named == audience or (isinstance(named, list) and audience in named)):
        raise SignedJwtError("not issued to this portal")
    return VerifiedJwt(header, claims)


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and signature of a canonical compact JWS."""
    if not isinstance(token, str) or len(token) > MAX_JWT_LENGTH:
        raise SignedJwtError("not a JWT")
    match = _COMPACT_JWS.fullmatch(token)
    if match is None:
        raise SignedJwtError("not a JWT")
    # Header and payload are signed as they are spelled; the signature's spelling is not
    # signed, so only its canonical one is taken (one token, one spelling).
    header = _json_object(_segment(match[1]))
    claims = _json_object(_segment(match[2]))
    signing_input = token[: match.end(2)].encode("ascii")
    return header, claims, signing_input, _segment(match[3], canonical=True)


def _segment(text: str, *, canonical: bool = False) -> bytes:
    """A base64url segment's bytes (``canonical``: refused when spelled another way)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignedJwtError("not a JWT") from None
    if canonical and base64.urlsafe_b64encode(raw).rstrip(b"=") != text.encode("ascii"):
        raise SignedJwtError("not a JWT")  # unused trailing bits: another spelling
    return raw


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise SignedJwtError("not a JWT") from None
    if not isinstance(value, dict):
        raise SignedJwtError("not a JWT")
    return value


def _check_type(typ: object, expected: str, required: bool) -> None:
    if typ is None and not required:
        return
    if not isinstance(typ, str):
        raise SignedJwtError(f"the typ header must be {expected}")
    normalised = typ.lower().removeprefix("application/")
    if normalised != expected.lower():
        raise SignedJwtError(f"the typ header must be {expected}")
