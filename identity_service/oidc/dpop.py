"""DPoP proofs (RFC 9449): checking them, the server nonces they carry, token binding.

A DPoP proof is a JWT the client signs, for each request, with a key pair it holds; the
public key travels in the proof's ``jwk`` header. Tokens issued against a proof are
bound to that key through its RFC 7638 thumbprint (``cnf.jkt`` in an access token, a
column of a refresh token, ``dpop_jkt`` of a code), so a stolen token is useless without
the private key.

``DpopVerifier.verify`` applies RFC 9449 §4.3 in order, and raises
``InvalidDpopProofError`` naming the first fault (``UseDpopNonceError`` when only the
nonce is missing or stale):

1. exactly one ``DPoP`` header holding a canonical compact JWS (RFC 7515 §2);
2. header: ``typ`` ``dpop+jwt``; ``alg`` asymmetric and accepted (never ``none`` or
   ``HS*``); ``jwk`` a public key of the algorithm's type (EC P-256, Ed25519, RSA of at
   least 2048 bits) without private members;
3. the signature verifies with that ``jwk``;
4. claims: ``jti`` (a string), ``htm`` equal to the request method, ``htu`` equal to the
   endpoint's URL under our issuer (scheme and host case, default ports, query and
   fragment ignored: RFC 9449 §4.3 step 9), ``iat`` a number at most
   ``PROOF_MAX_AGE_SECONDS`` old and not in the future beyond ``CLOCK_SKEW_SECONDS``;
5. with an access token (resource endpoints): ``ath`` is base64url(SHA-256(token));
6. the server nonce (``DpopNonces``), when nonces are required;
7. the ``jti`` was never seen with this key within the proof's lifetime (replay cache in
   the shared state store, so every process counts together).

Nonces are stateless: a MAC of the current time window under a key derived from the
server secret, accepted for the current and the previous window, so every process
behind a load balancer issues and accepts the same ones. Every answer of an endpoint
that takes DPoP carries the current one in ``DPoP-Nonce`` (RFC 9449 §8.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from identity_service.compact_jws import MalformedJwsError, parse_compact_jws
from identity_service.jwk import JwkError, b64url, jwk_thumbprint
from identity_service.oidc.errors import (
    InvalidDpopProofError,
    InvalidTokenError,
    UseDpopNonceError,
)
from identity_service.oidc.metadata import DPOP_ALGORITHMS
from identity_service.state import StateStore

DPOP_HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
DPOP_SCHEME = "DPoP"
BEARER_SCHEME = "Bearer"
PROOF_TYPE = "dpop+jwt"

PROOF_MAX_AGE_SECONDS = 60
CLOCK_SKEW_SECONDS = 10
NONCE_WINDOW_SECONDS = 300
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
MAX_TIME = 10**12  # beyond any real time, exact as a float: NaN and 400-digit ints fail
MIN_RSA_BITS = 2048
KEY_CACHE_SIZE = 1024
_KEY_TYPES = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
_RSA_ALGORITHMS = frozenset({"RS256", "PS256"})
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_REQUIRED_PROOF_CLAIMS = ("jti", "htm", "htu", "iat")
_NONCE_KEY_LABEL = b"natid/dpop-nonce/v1"
_REPLAY_PREFIX = "dpop-jti:"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class DpopProof:
    """A valid proof: the thumbprint of its key (what tokens are bound to), its id and
    its algorithm (FAPI 2.0 clients may use only some)."""

    jkt: str
    jti: str
    alg: str


class DpopNonces:
    """Server nonces: a MAC of the time window, valid in this window and the one before."""

    def __init__(
        self,
        server_secret: bytes,
        *,
        window_seconds: int = NONCE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = hmac.new(server_secret, _NONCE_KEY_LABEL, hashlib.sha256).digest()
        self._window_seconds = window_seconds
        self._clock = clock
        self._cached: tuple[int, str] | None = None

    def current(self) -> str:
        window = self._window()
        cached = self._cached
        if cached is not None and cached[0] == window:
            return cached[1]
        nonce = self._nonce(window)
        self._cached = (window, nonce)
        return nonce

    def is_valid(self, nonce: Any) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        window = self._window()
        return any(
            hmac.compare_digest(nonce, self._nonce(candidate)) for candidate in (window, window - 1)
        )

    def _window(self) -> int:
        return int(self._clock() // self._window_seconds)

    def _nonce(self, window: int) -> str:
        counter = window.to_bytes(8, "big", signed=True)
        mac = hmac.new(self._key, counter, hashlib.sha256).digest()[:16]
        return b64url(counter + mac)


class DpopVerifier:
    """Checks proofs (see the module docstring); ``nonces=None`` means none are required."""

    def __init__(
        self,
        state: StateStore,
        *,
        nonces: DpopNonces | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self.nonces = nonces
        self._clock = clock
        self._keys: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def current_nonce(self) -> str | None:
        return None if self.nonces is None else self.nonces.current()

    def verify(
        self,
        header_values: Sequence[str],
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        algorithms: Sequence[str] = DPOP_ALGORITHMS,
    ) -> DpopProof:
        """The proof sent in ``header_values`` (every ``DPoP`` header of the request)."""
        if len(header_values) != 1:
            raise InvalidDpopProofError("send exactly one DPoP header")
        proof = header_values[0].strip()
        if len(proof) > MAX_PROOF_LENGTH:
            raise InvalidDpopProofError("the DPoP proof is not a compact JWS")
        try:
            jws = parse_compact_jws(proof)
        except MalformedJwsError:
            raise InvalidDpopProofError("the DPoP proof is not a compact JWS") from None
        alg, jwk = self._checked_header(jws.header, algorithms)
        jkt = _thumbprint(jwk)
        key = self._public_key(jkt, alg, jwk)
        if not jws.signed_by(key, alg):
            raise InvalidDpopProofError("the DPoP proof signature is invalid")
        claims = jws.claims
        if any(name not in claims for name in _REQUIRED_PROOF_CLAIMS):
            raise InvalidDpopProofError("the DPoP proof lacks jti, htm, htu or iat")
        jti = self._checked_claims(claims, method=method, url=url, access_token=access_token)
        if self.nonces is not None and not self.nonces.is_valid(claims.get("nonce")):
            raise UseDpopNonceError("the DPoP proof must carry the server's current nonce")
        replay_key = f"{_REPLAY_PREFIX}{_digest(f'{jkt}:{jti}')}"
        ttl = PROOF_MAX_AGE_SECONDS + 2 * CLOCK_SKEW_SECONDS
        if self._state.incr(replay_key, ttl) > 1:
            raise InvalidDpopProofError("the DPoP proof was already used (jti replayed)")
        return DpopProof(jkt=jkt, jti=jti, alg=alg)

    def _checked_header(
        self, header: dict[str, Any], algorithms: Sequence[str]
    ) -> tuple[str, dict[str, Any]]:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:
            raise InvalidDpopProofError(f"the DPoP proof typ must be {PROOF_TYPE}")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in algorithms:
            raise InvalidDpopProofError(f"the DPoP proof alg must be one of {' '.join(algorithms)}")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise InvalidDpopProofError("the DPoP proof must carry its public key as jwk")
        if _PRIVATE_JWK_MEMBERS & jwk.keys():
            raise InvalidDpopProofError("the DPoP proof jwk contains private key material")
        kty = jwk.get("kty")
        if alg in _RSA_ALGORITHMS:
            if kty != "RSA":
                raise InvalidDpopProofError(f"{alg} needs an RSA jwk")
        elif (kty, jwk.get("crv")) != _KEY_TYPES[alg]:
            raise InvalidDpopProofError(f"{alg} needs a {' '.join(_KEY_TYPES[alg])} jwk")
        return alg, jwk

    def _checked_claims(
        self, claims: dict[str, Any], *, method: str, url: str, access_token: str | None
    ) -> str:
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise InvalidDpopProofError("the DPoP proof jti must be a short string")
        if claims["htm"] != method:
            raise InvalidDpopProofError("the DPoP proof htm is not this request's method")
        htu = claims["htu"]
        if not isinstance(htu, str) or normalized_url(htu) != normalized_url(url):
            raise InvalidDpopProofError("the DPoP proof htu is not this endpoint's URL")
        iat = claims["iat"]
        if (
            not isinstance(iat, int | float)
            or isinstance(iat, bool)
            or not -MAX_TIME < iat < MAX_TIME
        ):
            raise InvalidDpopProofError("the DPoP proof iat is not a time")
        now = self._clock()
        if iat > now + CLOCK_SKEW_SECONDS or iat < now - PROOF_MAX_AGE_SECONDS - CLOCK_SKEW_SECONDS:
            raise InvalidDpopProofError("the DPoP proof iat is too old or in the future")
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(
                ath, access_token_hash(access_token)
            ):
                raise InvalidDpopProofError("the DPoP proof ath does not match the access token")
        return jti

    def _public_key(self, jkt: str, alg: str, jwk: dict[str, Any]) -> Any:
        cached = self._keys.get((jkt, alg))
        if cached is not None:
            return cached
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            raise InvalidDpopProofError("the DPoP proof jwk is not a valid key") from None
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            raise InvalidDpopProofError(f"RSA keys need at least {MIN_RSA_BITS} bits")
        with self._lock:
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys[(jkt, alg)] = key
        return key


@dataclass(frozen=True, slots=True)
class PresentedToken:
    """An access token from an ``Authorization`` header and the scheme it came with."""

    token: str
    scheme: str  # BEARER_SCHEME or DPOP_SCHEME


def presented_token(authorization: str | None) -> PresentedToken | None:
    """The token of ``Authorization: Bearer …`` or ``Authorization: DPoP …``, else None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if not token:
        return None
    if scheme.lower() == "bearer":
        return PresentedToken(token, BEARER_SCHEME)
    if scheme.lower() == "dpop":
        return PresentedToken(token, DPOP_SCHEME)
    return None


def bound_key(claims: dict[str, Any]) -> str | None:
    """The ``cnf.jkt`` an access token is bound to, or None for a bearer token."""
    confirmation = claims.get("cnf")
    if not isinstance(confirmation, dict):
        return None
    jkt = confirmation.get("jkt")
    return jkt if isinstance(jkt, str) else None


def check_token_binding(
    verifier: DpopVerifier,
    claims: dict[str, Any],
    presented: PresentedToken,
    header_values: Sequence[str],
    *,
    method: str,
    url: str,
) -> None:
    """At a resource endpoint: a bound token needs the DPoP scheme and a proof by its key
    (RFC 9449 §7.1); an unbound one must come as a bearer token (§7.2)."""
    jkt = bound_key(claims)
    if jkt is None:
        if presented.scheme == DPOP_SCHEME:
            raise InvalidTokenError("the access token is not DPoP-bound; send it as Bearer")
        return
    if presented.scheme != DPOP_SCHEME:
        raise InvalidTokenError("the access token is DPoP-bound; send it with the DPoP scheme")
    proof = verifier.verify(header_values, method=method, url=url, access_token=presented.token)
    if not hmac.compare_digest(proof.jkt, jkt):
        raise InvalidDpopProofError("the DPoP proof is signed by another key than the token's")


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token's ASCII (RFC 9449 §4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def normalized_url(url: str) -> str | None:
    """Scheme, host and path as RFC 3986 §6.2.2-6.2.3 compares them: lower-case scheme and
    host, no default port, no query or fragment. None when ``url`` is not a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _thumbprint(jwk: dict[str, Any]) -> str:
    try:
        return jwk_thumbprint(jwk)
    except (JwkError, TypeError):
        raise InvalidDpopProofError("the DPoP proof jwk lacks required members") from None


def _digest(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8")).digest()).decode()
