"""DPoP for a portal (RFC 9449): a key of its own, a proof on each request, the server nonce.

Authlib's OAuth client has no DPoP, so a portal adds it underneath, as an httpx
transport: ``DpopTransport`` wraps whatever transport the portal's HTTP clients use and
signs a proof for every request that needs one — a POST to an endpoint the portal named
(the PAR and token endpoints) and any request sending ``Authorization: DPoP <token>``
(userinfo, the e-KYC API; the proof then carries ``ath``, the token's hash). Client
authentication, PKCE and the rest stay Authlib's.

Nonces (RFC 9449 §8-9): the server's latest ``DPoP-Nonce`` is kept from every answer and
put in the next proof; an answer ``use_dpop_nonce`` is retried once, at once, with a fresh
proof carrying the new nonce. The retry sends the same body: natid checks the proof before
the client assertion, so the assertion is not spent by the refusal.

The key is an EC P-256 key made when the portal starts (``DpopKey``). Tokens bound to it
die with the process, which is what a key that never leaves memory should give.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

PROOF_TYPE = "dpop+jwt"
NONCE_HEADER = "DPoP-Nonce"
USE_NONCE_ERROR = "use_dpop_nonce"


class DpopKey:
    """The portal's DPoP key pair: signs proofs and remembers the server's nonce."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        self._clock = clock
        numbers = self._private_key.public_key().public_numbers()
        self.public_jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
        canonical = json.dumps(self.public_jwk, separators=(",", ":"), sort_keys=True)
        # RFC 7638 thumbprint: what the IdP binds tokens to (cnf.jkt).
        self.thumbprint = _b64url(hashlib.sha256(canonical.encode()).digest())
        self.nonce: str | None = None

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A proof for ``method url`` (query and fragment dropped: RFC 9449 §4.2)."""
        parts = urlsplit(url)
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(self._clock()),
        }
        if self.nonce is not None:
            claims["nonce"] = self.nonce
        if access_token is not None:
            claims["ath"] = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        header = {"typ": PROOF_TYPE, "jwk": self.public_jwk}
        return jwt.encode(claims, self._private_key, algorithm="ES256", headers=header)


class DpopTransport(httpx.AsyncBaseTransport):
    """Adds DPoP proofs to the requests that need them (see the module docstring)."""

    def __init__(
        self,
        key: DpopKey,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        endpoints: Iterable[str] = (),
    ) -> None:
        self.key = key
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._endpoints = {_without_query(url) for url in endpoints}

    def add_endpoints(self, *urls: str) -> None:
        """POSTs to these URLs carry a proof (the PAR and token endpoints)."""
        self._endpoints.update(_without_query(url) for url in urls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        access_token = _dpop_token(request)
        if access_token is None and not (
            request.method == "POST" and _without_query(str(request.url)) in self._endpoints
        ):
            return await self._inner.handle_async_request(request)
        response = await self._with_proof(request, access_token)
        if not await self._asks_for_nonce(response):
            return response
        await response.aclose()
        return await self._with_proof(request, access_token)

    async def aclose(self) -> None:
        # Shared by every client the portal makes (Authlib opens one per call); each of
        # them closes its transport on exit, so the connections live as long as the portal.
        return None

    async def _with_proof(self, request: httpx.Request, access_token: str | None) -> httpx.Response:
        proof = self.key.proof(request.method, str(request.url), access_token=access_token)
        headers = [(name, value) for name, value in request.headers.raw if name.lower() != b"dpop"]
        signed = httpx.Request(
            request.method,
            request.url,
            headers=[*headers, (b"DPoP", proof.encode("ascii"))],
            content=request.content,
            extensions=request.extensions,
        )
        response = await self._inner.handle_async_request(signed)
        nonce = response.headers.get(NONCE_HEADER)
        if nonce:
            self.key.nonce = nonce
        return response

    async def _asks_for_nonce(self, response: httpx.Response) -> bool:
        if NONCE_HEADER not in response.headers or response.status_code not in (400, 401):
            return False
        if USE_NONCE_ERROR in response.headers.get("www-authenticate", ""):
            return True
        await response.aread()
        try:
            body = json.loads(response.content)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") == USE_NONCE_ERROR


def _dpop_token(request: httpx.Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "dpop" else None


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, "", ""))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
