"""The checks every JWT the IdP signs must pass before a portal reads its claims.

ID tokens, back-channel logout tokens and e-KYC answers share them: the header names an
algorithm the IdP advertises (asymmetric only: never ``none`` or an HMAC keyed with a
public value) and a ``kid``; the key comes from the cached JWKS (``JwksCache``) and must
be a key for that algorithm; the signature verifies; ``iss`` is the IdP; ``aud`` names
this party; the required claims are present; and, where a token type is expected, the
``typ`` header says it (RFC 8725 §3.11: explicit typing keeps one kind of token from
being accepted as another). Times and the claims particular to each kind of token are
left to the caller, which knows its own clock and rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jwt

from portals.common.jwks import JwksCache, UnknownSigningKeyError

ACCEPTABLE_ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
MAX_JWT_LENGTH = 16_384


class SignedJwtError(Exception):
    """The JWT failed a check; the message says which (never the token itself)."""


async def verify_signed_jwt(
    token: str,
    keys: JwksCache,
    *,
    issuer: str,
    audience: str,
    algorithms: Iterable[str],
    required: Iterable[str],
    token_type: str | None = None,
    type_required: bool = False,
) -> dict[str, Any]:
    """The claims of ``token`` once signature, ``iss``, ``aud`` and ``typ`` check out.

    ``token_type`` (e.g. ``logout+jwt``) is compared case-insensitively, with or without
    the ``application/`` prefix; a token without ``typ`` passes unless ``type_required``.
    """
    accepted = frozenset(algorithms) & ACCEPTABLE_ALGORITHMS
    alg, kid, typ = _header(token, accepted)
    if token_type is not None:
        _check_type(typ, token_type, type_required)
    try:
        key = await keys.key(kid)
    except UnknownSigningKeyError:
        raise SignedJwtError("signed with a key the IdP does not publish") from None
    if key.algorithm_name != alg:
        raise SignedJwtError("the header's alg does not match the key's")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            # Times are the caller's to check, against its own clock.
            options={
                "require": list(required),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise SignedJwtError("bad signature") from None
    except jwt.InvalidAudienceError:
        raise SignedJwtError("not issued to this portal") from None
    except jwt.InvalidIssuerError:
        raise SignedJwtError("issued by another issuer") from None
    except jwt.MissingRequiredClaimError as error:
        raise SignedJwtError(f"the {error.claim} claim is missing") from None
    except jwt.PyJWTError as error:
        raise SignedJwtError(f"rejected: {type(error).__name__}") from None
    return claims


def _header(token: str, accepted: frozenset[str]) -> tuple[str, str, object]:
    if not isinstance(token, str) or not token or len(token) > MAX_JWT_LENGTH:
        raise SignedJwtError("not a JWT")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise SignedJwtError("not a JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in accepted:
        raise SignedJwtError(f"algorithm {alg!r} not accepted")
    if not isinstance(kid, str) or not kid:
        raise SignedJwtError("no key id in the header")
    return alg, kid, header.get("typ")


def _check_type(typ: object, expected: str, required: bool) -> None:
    if typ is None and not required:
        return
    if not isinstance(typ, str):
        raise SignedJwtError(f"the typ header must be {expected}")
    normalised = typ.lower().removeprefix("application/")
    if normalised != expected.lower():
        raise SignedJwtError(f"the typ header must be {expected}")
