"""Test drivers for the high-assurance features: DPoP keys, key-holding clients, PAR.

``DpopKey`` is a client's DPoP key pair and makes proofs (RFC 9449 §4.2), with any claim
or header changed for attack tests. ``KeyHoldingClient`` registers a confidential client
that authenticates with ``private_key_jwt`` and may hold the PAR, DPoP, signed request
object and FAPI 2.0 switches; it signs client assertions and request objects. The flows
(``push``, ``code_through_par``, ``redeem``) go through HTTP like a portal's back-end.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.jwk import jwk_thumbprint, public_jwk_members
from identity_service.oidc.registration import ClientRegistration
from tests.identity_service.oidc.support import (
    ISSUER,
    Browser,
    FakeClock,
    RawRequest,
    obtain_code,
    raw_request,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_URL = f"{ISSUER}/token"
PAR_URL = f"{ISSUER}/par"
USERINFO_URL = f"{ISSUER}/userinfo"
KYC_URL = f"{ISSUER}/api/v1/kyc/verify"
HIGH_ASSURANCE_REDIRECT = "https://giaodich.example.vn/callback"


def new_private_key(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class DpopKey:
    """A DPoP key pair and the proofs it signs."""

    def __init__(self, alg: str = "ES256", private_key: Any = None) -> None:
        self.alg = alg
        self.private_key = private_key or new_private_key(alg)
        self.jwk = public_jwk_members(self.private_key.public_key())
        self.jkt = jwk_thumbprint(self.jwk)

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        iat: float | None = None,
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """A proof for ``method url``; ``claims``/``header`` override (None drops)."""
        payload: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(iat) if iat is not None else None,
            "nonce": nonce,
        }
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            payload["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        payload.update(claims or {})
        payload = {name: value for name, value in payload.items() if value is not None}
        headers = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        headers = {name: value for name, value in headers.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm=self.alg, headers=headers)


def fresh_proof(
    services: IdentityServices,
    clock: FakeClock,
    key: DpopKey,
    method: str,
    url: str,
    **changes: Any,
) -> dict[str, str]:
    """The ``DPoP`` header of a valid proof now, with the server's current nonce."""
    changes.setdefault("nonce", services.dpop.current_nonce())
    changes.setdefault("iat", clock())
    return {"DPoP": key.proof(method, url, **changes)}


class KeyHoldingClient:
    """A confidential ``private_key_jwt`` client, registered with the given switches."""

    def __init__(
        self,
        services: IdentityServices,
        clock: FakeClock,
        *,
        client_id: str = "giaodich",
        alg: str = "ES256",
        scopes: tuple[str, ...] = ("openid", "profile", "offline_access"),
        grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
        id_token_alg: str = "ES256",
        **switches: bool,
    ) -> None:
        self.clock = clock
        self.alg = alg
        self.key = new_private_key(alg)
        self.kid = f"{client_id}-key"
        public = {**public_jwk_members(self.key.public_key()), "kid": self.kid, "use": "sig"}
        self.client_id = client_id
        self.redirect_uri = HIGH_ASSURANCE_REDIRECT
        services.clients.register(
            ClientRegistration(
                name="Cổng giao dịch",
                client_id=client_id,
                redirect_uris=(self.redirect_uri,) if "authorization_code" in grant_types else (),
                scopes=scopes,
                grant_types=grant_types,
                token_endpoint_auth_method="private_key_jwt",
                jwks={"keys": [public]},
                id_token_signed_response_alg=id_token_alg,
                **switches,
            )
        )

    def assertion(self, audience: Any = ISSUER, **changes: Any) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
            **changes,
        }
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid})

    def authentication(self, audience: Any = ISSUER, **changes: Any) -> dict[str, str]:
        """The form fields of ``private_key_jwt`` client authentication."""
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(audience, **changes),
        }

    def request_object(
        self,
        params: dict[str, Any],
        *,
        key: Any = None,
        header: dict[str, Any] | None = None,
        alg: str | None = None,
    ) -> str:
        """``params`` signed as a request object; ``iss``/``aud``/``exp`` added unless given
        (None drops them). ``alg="none"`` makes an unsigned one."""
        now = int(self.clock())
        claims = {"iss": self.client_id, "aud": ISSUER, "exp": now + 300, "nbf": now, **params}
        claims = {name: value for name, value in claims.items() if value is not None}
        headers = {"kid": self.kid, "typ": "oauth-authz-req+jwt", **(header or {})}
        if alg == "none":
            return jwt.encode(claims, None, algorithm="none", headers=headers)
        return jwt.encode(claims, key or self.key, algorithm=alg or self.alg, headers=headers)

    def raw_request(self, scope: str = "openid profile", **overrides: str | None) -> RawRequest:
        return raw_request(self.client_id, self.redirect_uri, scope, **overrides)


async def plain_code(browser: Browser, request: RawRequest, citizen: DemoCredential) -> str:
    """The code of a plain (not pushed) request after ``citizen`` logs in with a password."""
    return await obtain_code(browser, request, citizen.personal_id_number, citizen.password)


async def push(
    http: httpx.AsyncClient,
    client: KeyHoldingClient,
    params: dict[str, str],
    *,
    headers: dict[str, str] | None = None,
    **authentication: Any,
) -> httpx.Response:
    """POST ``params`` to the PAR endpoint with the client's authentication."""
    return await http.post(
        "/par", data={**params, **client.authentication(**authentication)}, headers=headers
    )


async def code_through_par(
    http: httpx.AsyncClient,
    browser: Browser,
    client: KeyHoldingClient,
    citizen: DemoCredential,
    *,
    scope: str = "openid profile",
    dpop_headers: dict[str, str] | None = None,
    clock: FakeClock | None = None,
) -> tuple[str, RawRequest]:
    """Push a request, log ``citizen`` in through its request URI; the code and request."""
    request = client.raw_request(scope)
    pushed = await push(http, client, request.params, headers=dpop_headers)
    assert pushed.status_code == 201, pushed.text
    by_reference = RawRequest(
        {
            "client_id": client.client_id,
            "request_uri": pushed.json()["request_uri"],
            "state": request.params["state"],
        },
        request.code_verifier,
    )
    code = await obtain_code(
        browser,
        by_reference,
        citizen.personal_id_number,
        citizen.password,
        totp_secret=citizen.totp_secret,
        clock=clock,
    )
    return code, request


async def redeem(
    http: httpx.AsyncClient,
    client: KeyHoldingClient,
    code: str,
    request: RawRequest,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Exchange ``code`` at the token endpoint with the client's authentication."""
    return await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": request.code_verifier,
            **client.authentication(),
        },
        headers=headers,
    )


def unverified_claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})
