"""Issuing and checking the provider's JWTs: ID tokens and RFC 9068 access tokens.

Owns the claim sets, the ``at_hash``/``c_hash`` computation (OpenID Connect Core
3.1.3.6) and access-token verification for our own resource endpoints (userinfo).
Signing keys come from the ``KeyStore``; this module never touches key material itself
beyond handing the cached key object to ``compact_jws.sign_compact_jws``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

from identity_service.compact_jws import MalformedJwsError, parse_compact_jws, sign_compact_jws
from identity_service.keys import KeyStore

ACCESS_TOKEN_ALGORITHM = "ES256"
ACCESS_TOKEN_TYPE = "at+jwt"
# RFC 9068 §4: resource servers accept the short form and the full media type.
_ACCEPTED_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_ACCESS_TOKEN_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")

# Claims the ID token builder sets itself; extra_claims may not override them.
_ID_TOKEN_RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp"}
    | {"at_hash", "c_hash", "nbf", "jti"}
)
_ACCESS_TOKEN_RESERVED_CLAIMS = frozenset(
    {"iss", "exp", "aud", "sub", "client_id", "iat", "jti", "scope", "acr", "auth_time", "nbf"}
    | {"cnf"}
)

# The hash whose left half makes at_hash/c_hash, by JWS algorithm. EdDSA here always means
# Ed25519, whose signature hash is SHA-512 (OpenID Foundation's EdDSA note for OIDC);
# Ed448 would need SHAKE256 but we never sign with it.
_LEFT_HALF_HASHES: dict[str, Callable[[bytes], Any]] = {
    "ES256": hashlib.sha256,
    "RS256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "ES384": hashlib.sha384,
    "RS384": hashlib.sha384,
    "PS384": hashlib.sha384,
    "ES512": hashlib.sha512,
    "RS512": hashlib.sha512,
    "PS512": hashlib.sha512,
    "EdDSA": hashlib.sha512,
}


class InvalidTokenError(jwt.InvalidTokenError):
    """A token we did not issue, or no longer accept. The message says why (for logs only)."""


def access_token_digest(token: str) -> str:
    """What the provider keeps of an access token it issued: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class TokenService:
    """Signs ID and access tokens with the key store's current keys; verifies access tokens."""

    def __init__(
        self,
        keys: KeyStore,
        issuer: str,
        *,
        clock: Callable[[], float] = time.time,
        resource: str | None = None,
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        # Access tokens are for our own resource endpoints, so their audience is the issuer.
        self.resource = resource or issuer
        self._clock = clock

    def id_token(
        self,
        *,
        client_id: str,
        subject: str,
        alg: str,
        ttl: int,
        auth_time: int | float,
        nonce: str | None = None,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        sid: str | None = None,
        access_token: str | None = None,
        code: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed OpenID Connect ID token for ``client_id`` (aud and azp)."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "azp": client_id,
            "exp": now + ttl,
            "iat": now,
            "auth_time": int(auth_time),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if acr is not None:
            claims["acr"] = acr
        if amr is not None:
            claims["amr"] = list(amr)
        if sid is not None:
            claims["sid"] = sid
        if access_token is not None:
            claims["at_hash"] = self.left_half_hash(access_token, alg)
        if code is not None:
            claims["c_hash"] = self.left_half_hash(code, alg)
        if extra_claims:
            _merge_extra_claims(claims, extra_claims, _ID_TOKEN_RESERVED_CLAIMS)
        key = self._keys.signing_key(alg)
        return sign_compact_jws(claims, key.private_key, alg, kid=key.kid)

    def access_token(
        self,
        *,
        client_id: str,
        subject: str,
        scope: str,
        ttl: int,
        acr: str | None = None,
        auth_time: int | float | None = None,
        jti: str | None = None,
        confirmation_jkt: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An RFC 9068 JWT access token (``typ: at+jwt``, ES256); a jti is made if not given.

        ``confirmation_jkt`` binds the token to a DPoP key (``cnf.jkt``, RFC 9449 §6.1).
        """
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "exp": now + ttl,
            "aud": self.resource,
            "sub": subject,
            "client_id": client_id,
            "iat": now,
            "jti": jti or secrets.token_urlsafe(16),
            "scope": scope,
        }
        if acr is not None:
            claims["acr"] = acr
        if auth_time is not None:
            claims["auth_time"] = int(auth_time)
        if confirmation_jkt is not None:
            claims["cnf"] = {"jkt": confirmation_jkt}
        if extra_claims:
            _merge_extra_claims(claims, extra_claims, _ACCESS_TOKEN_RESERVED_CLAIMS)
        key = self._keys.signing_key(ACCESS_TOKEN_ALGORITHM)
        return sign_compact_jws(
            claims, key.private_key, ACCESS_TOKEN_ALGORITHM, kid=key.kid, typ=ACCESS_TOKEN_TYPE
        )

    def verify_access_token(
        self, token: str, *, issued_digest: Callable[[str], str | None] | None = None
    ) -> dict[str, Any]:
        """The claims of an access token we issued and that is still valid.

        Checks, in order: the spelling (a canonical compact JWS), the header (typ at+jwt,
        our access-token algorithm, a kid we publish), the signature with that key, the
        required claims, then iss, aud, exp and iat against our clock. Anything else
        raises ``InvalidTokenError``.

        ``issued_digest(jti)`` gives what the provider stored when it issued the token
        with that ``jti`` (its ``access_token_digest``), or None: a token of exactly that
        digest is the one it signed, so its signature is not checked a second time (an
        ES256 verify costs twice a signature); every other check still runs. Any other
        token, an altered one included, has its signature checked.
        """
        try:
            jws = parse_compact_jws(token)
        except MalformedJwsError as error:
            raise InvalidTokenError(f"malformed token: {error}") from None
        header, claims = jws.header, jws.claims
        token_type = header.get("typ")
        if (
            not isinstance(token_type, str)
            or token_type.lower() not in _ACCEPTED_ACCESS_TOKEN_TYPES
        ):
            raise InvalidTokenError("not an access token (typ is not at+jwt)")
        if header.get("alg") != ACCESS_TOKEN_ALGORITHM:
            raise InvalidTokenError("access token algorithm not accepted")
        kid = header.get("kid")
        key = self._keys.published_key(kid) if isinstance(kid, str) else None
        if key is None or key.alg != ACCESS_TOKEN_ALGORITHM:
            raise InvalidTokenError("access token signed by an unknown key")
        jti = claims.get("jti")
        stored = issued_digest(jti) if issued_digest is not None and isinstance(jti, str) else None
        issued = stored is not None and hmac.compare_digest(stored, access_token_digest(token))
        if not issued and not jws.signed_by(key.public_key, ACCESS_TOKEN_ALGORITHM):
            raise InvalidTokenError("access token rejected: bad signature")
        missing = [name for name in _ACCESS_TOKEN_REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise InvalidTokenError(f"access token rejected: no {', '.join(missing)} claim")
        if claims["iss"] != self.issuer:
            raise InvalidTokenError("access token rejected: issued by another issuer")
        audience = claims["aud"]
        if not (
            audience == self.resource or (isinstance(audience, list) and self.resource in audience)
        ):
            raise InvalidTokenError("access token rejected: not for this resource")
        self._check_lifetime(claims)
        return claims

    def key_is_published(self, kid: str) -> bool:
        """Whether the key ``kid`` still verifies tokens (not retired or withdrawn)."""
        return self._keys.published_key(kid) is not None

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        exp, iat = claims["exp"], claims["iat"]
        if not _is_number(exp) or not _is_number(iat):
            raise InvalidTokenError("access token time claims are not numbers")
        if exp <= now:
            raise InvalidTokenError("access token expired")
        if iat > now + 1:  # one second of slack for clocks of other workers
            raise InvalidTokenError("access token issued in the future")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_number(nbf) or nbf > now + 1):
            raise InvalidTokenError("access token not yet valid")

    @staticmethod
    def left_half_hash(value: str, alg: str) -> str:
        """``at_hash``/``c_hash`` (OIDC Core 3.1.3.6): base64url of the left half of the hash.

        The hash is the one the signing algorithm uses: SHA-256 for ES256 and RS256, and
        SHA-512 for EdDSA because our EdDSA keys are Ed25519 (OpenID Foundation's note on
        EdDSA in OpenID Connect).
        """
        try:
            hash_function = _LEFT_HALF_HASHES[alg]
        except KeyError:
            raise ValueError(f"no at_hash/c_hash rule for algorithm {alg!r}") from None
        digest = hash_function(value.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def _merge_extra_claims(
    claims: dict[str, Any], extra: Mapping[str, Any], reserved: frozenset[str]
) -> None:
    clashes = sorted(reserved.intersection(extra))
    if clashes:
        raise ValueError(f"extra claims may not set {', '.join(clashes)}")
    claims.update(extra)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
