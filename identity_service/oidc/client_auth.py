"""Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9, RFC 7523).

Methods: ``client_secret_basic`` (HTTP Basic, id and secret form-urlencoded first),
``client_secret_post`` (``client_id`` and ``client_secret`` in the body),
``private_key_jwt`` (a JWT signed with a key from the client's registered JWKS:
iss = sub = client_id, aud = the token endpoint or the issuer, exp within the hour, a
``jti`` accepted once — replays are caught through the shared state store), and ``none``
for public clients, which must then prove possession with PKCE. A client must use the
method it registered, and only one per request. Every failure is ``invalid_client``
with one message, so the answer does not reveal which part was wrong.

An assertion must be a canonical JWS compact serialisation (three base64url segments, no
padding: RFC 7515 §2), so each assertion has exactly one spelling; its times (``exp``,
``nbf``, ``iat``) must be numbers of a sane size (RFC 7519 §2 NumericDate; not NaN,
Infinity or a 400-digit integer), and ``iat`` may not lie in the future.

A FAPI 2.0 client's assertion must name the issuer itself, as a string, in ``aud`` (FAPI
2.0 Security Profile §5.3.2.1, against audience injection: an assertion for an endpoint
URL could be replayed to another server sharing that URL), and be signed with PS256,
ES256 or EdDSA.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt

from identity_service.oidc.client_keys import candidate_keys
from identity_service.oidc.clients import ClientRegistry, RegisteredClient
from identity_service.oidc.errors import InvalidClientError, InvalidRequestError
from identity_service.oidc.metadata import CLIENT_ASSERTION_ALGORITHMS, FAPI2_ALGORITHMS
from identity_service.state import StateStore

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW_SECONDS = 30
# Far beyond any real time (year 33658), yet exactly representable as a float.
MAX_NUMERIC_DATE = 10**12
_FAILED = "client authentication failed"
_REPLAY_PREFIX = "client-assertion:"
# Base64url without padding in each of the three segments (PyJWT would also accept '=').
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The parts of a token request that can authenticate a client."""

    authorization: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_assertion: str | None = None
    client_assertion_type: str | None = None


class ClientAuthenticator:
    def __init__(
        self,
        clients: ClientRegistry,
        state: StateStore,
        *,
        audiences: tuple[str, ...],
        issuer: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = clients
        self._state = state
        self._audiences = audiences
        self._issuer = issuer if issuer is not None else audiences[-1]
        self._clock = clock

    def authenticate(self, credentials: ClientCredentials) -> RegisteredClient:
        """The authenticated client, or ``InvalidClientError`` / ``InvalidRequestError``."""
        basic = _basic_credentials(credentials.authorization)
        presented = [
            name
            for name, present in (
                ("client_secret_basic", basic is not None),
                ("client_secret_post", credentials.client_secret is not None),
                ("private_key_jwt", credentials.client_assertion is not None),
            )
            if present
        ]
        if len(presented) > 1:
            raise InvalidRequestError("use exactly one client authentication method")
        method = presented[0] if presented else "none"
        if method == "client_secret_basic":
            assert basic is not None
            client_id, secret = basic
            if credentials.client_id is not None and credentials.client_id != client_id:
                raise InvalidClientError(_FAILED)
            return self._by_secret(client_id, secret, method)
        if method == "client_secret_post":
            return self._by_secret(credentials.client_id, credentials.client_secret, method)
        if method == "private_key_jwt":
            return self._by_assertion(credentials)
        return self._registered(credentials.client_id, "none")

    def _registered(self, client_id: str | None, method: str) -> RegisteredClient:
        client = self._clients.get(client_id) if client_id else None
        if client is None or client.token_endpoint_auth_method != method:
            raise InvalidClientError(_FAILED)
        return client

    def _by_secret(
        self, client_id: str | None, secret: str | None, method: str
    ) -> RegisteredClient:
        client = self._clients.get(client_id) if client_id else None
        # Verified even for an unknown client, so the answer takes the same time.
        matches = self._clients.verify_secret(client, secret or "")
        if client is None or client.token_endpoint_auth_method != method or not matches:
            raise InvalidClientError(_FAILED)
        return client

    def _by_assertion(self, credentials: ClientCredentials) -> RegisteredClient:
        if credentials.client_assertion_type != JWT_BEARER_ASSERTION_TYPE:
            raise InvalidRequestError(f"client_assertion_type must be {JWT_BEARER_ASSERTION_TYPE}")
        assertion = credentials.client_assertion or ""
        if not _COMPACT_JWS.fullmatch(assertion):
            raise InvalidClientError(_FAILED)
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise InvalidClientError(_FAILED) from None
        client_id = unverified.get("iss") if isinstance(unverified, dict) else None
        if not isinstance(client_id, str):
            raise InvalidClientError(_FAILED)
        if credentials.client_id is not None and credentials.client_id != client_id:
            raise InvalidClientError(_FAILED)
        client = self._registered(client_id, "private_key_jwt")
        claims = self._verified_assertion(assertion, header, client)
        self._accept_once(client.client_id, claims)
        return client

    def _verified_assertion(
        self, assertion: str, header: dict[str, Any], client: RegisteredClient
    ) -> dict[str, Any]:
        alg = header.get("alg")
        allowed = FAPI2_ALGORITHMS if client.fapi2 else CLIENT_ASSERTION_ALGORITHMS
        if alg not in allowed:
            raise InvalidClientError(_FAILED)
        audiences = [self._issuer] if client.fapi2 else list(self._audiences)
        for key in candidate_keys(client, alg, header.get("kid")):
            try:
                claims = jwt.decode(
                    assertion,
                    key.key,
                    algorithms=[alg],
                    audience=audiences,
                    issuer=client.client_id,
                    # Times are checked below against the provider's clock.
                    options={
                        "require": ["iss", "sub", "aud", "exp", "jti"],
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError:
                raise InvalidClientError(_FAILED) from None
            if claims.get("sub") != client.client_id or not isinstance(claims.get("jti"), str):
                raise InvalidClientError(_FAILED)
            if client.fapi2 and claims["aud"] != self._issuer:
                raise InvalidClientError(_FAILED)  # a list holding the issuer is not enough
            self._check_lifetime(claims)
            return claims
        raise InvalidClientError(_FAILED)

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        exp, nbf, iat = claims["exp"], claims.get("nbf"), claims.get("iat")
        if not _is_time(exp) or exp <= now - CLOCK_SKEW_SECONDS:
            raise InvalidClientError(_FAILED)
        # RFC 7523 §3: the server may reject assertions that live unreasonably long; the
        # replay cache only needs to remember a jti that long.
        if exp - now > MAX_ASSERTION_LIFETIME + CLOCK_SKEW_SECONDS:
            raise InvalidClientError(_FAILED)
        for moment in (nbf, iat):
            if moment is not None and (not _is_time(moment) or moment > now + CLOCK_SKEW_SECONDS):
                raise InvalidClientError(_FAILED)

    def _accept_once(self, client_id: str, claims: dict[str, Any]) -> None:
        jti_hash = hashlib.sha256(claims["jti"].encode("utf-8")).hexdigest()
        ttl = max(int(claims["exp"] - self._clock()) + 2 * CLOCK_SKEW_SECONDS, 1)
        if self._state.incr(f"{_REPLAY_PREFIX}{client_id}:{jti_hash}", ttl) > 1:
            raise InvalidClientError(_FAILED)


def _is_time(value: Any) -> bool:
    """A NumericDate in a sane range. JSON lets NaN, Infinity and integers too large for a
    float through; the comparisons below are exact for all of them (NaN fails both)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return -MAX_NUMERIC_DATE < value < MAX_NUMERIC_DATE


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` from ``Authorization: Basic``, or None if not Basic."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClientError(_FAILED) from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise InvalidClientError(_FAILED)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)
