"""Test drivers for the token lifecycle: a citizen's tokens, refresh, introspect, revoke.

Everything goes through HTTP against the app in-process, the way a portal's back-end
would talk to the IdP; tokens are verified against the published JWKS.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from identity_service.accounts.models import DemoCredential
from tests.identity_service.oidc.environment import REPO_ROOT
from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    obtain_code,
    raw_request,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BANK_BACKEND = "demo-bank-backend"
BANK_BACKEND_KEY_FILE = REPO_ROOT / "seeds" / "demo_bank_backend_key.json"
CLINIC_BACKEND = "demo-clinic-backend"
CLINIC_BACKEND_SECRET = "demo-secret-demo-clinic-backend-not-for-production"
OFFLINE_SCOPE = "openid profile offline_access"


async def citizen_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    citizen: DemoCredential,
    *,
    client_id: str = PUBLIC_SERVICES,
    secret: str = PUBLIC_SERVICES_SECRET,
    redirect_uri: str = PUBLIC_SERVICES_REDIRECT,
    scope: str = OFFLINE_SCOPE,
    clock: FakeClock | None = None,
) -> dict[str, Any]:
    """Log ``citizen`` in at a portal and redeem the code; the token response."""
    request = raw_request(client_id, redirect_uri, scope)
    code = await obtain_code(
        browser,
        request,
        citizen.personal_id_number,
        citizen.password,
        totp_secret=citizen.totp_secret,
        clock=clock,
    )
    response = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": request.code_verifier,
        },
        headers=basic_auth(client_id, secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    body["nonce"] = request.params["nonce"]
    return body


async def refresh(
    http: httpx.AsyncClient,
    refresh_token: str,
    *,
    client_id: str = PUBLIC_SERVICES,
    secret: str = PUBLIC_SERVICES_SECRET,
    **extra: str,
) -> httpx.Response:
    return await http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        headers=basic_auth(client_id, secret),
    )


async def introspect(
    http: httpx.AsyncClient,
    token: str,
    *,
    client_id: str = PUBLIC_SERVICES,
    secret: str = PUBLIC_SERVICES_SECRET,
    **extra: str,
) -> httpx.Response:
    return await http.post(
        "/introspect", data={"token": token, **extra}, headers=basic_auth(client_id, secret)
    )


async def revoke(
    http: httpx.AsyncClient,
    token: str,
    *,
    client_id: str = PUBLIC_SERVICES,
    secret: str = PUBLIC_SERVICES_SECRET,
    **extra: str,
) -> httpx.Response:
    return await http.post(
        "/revoke", data={"token": token, **extra}, headers=basic_auth(client_id, secret)
    )


async def userinfo_status(http: httpx.AsyncClient, access_token: str) -> int:
    response = await http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


async def verified(
    http: httpx.AsyncClient, token: str, *, audience: str, **options: Any
) -> dict[str, Any]:
    """The claims of ``token`` checked against the published JWKS, iss and aud."""
    jwks = (await http.get("/jwks")).json()
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    return jwt.decode(
        token,
        key.key,
        algorithms=[header["alg"]],
        audience=audience,
        issuer=ISSUER,
        leeway=3600,  # tests move the IdP's clock; signatures and claims are what count here
        options=options,
    )


def bank_backend_assertion(now: float | None = None, audience: str = f"{ISSUER}/token") -> str:
    """A private_key_jwt assertion of the seeded bank back-end, signed with its demo key."""
    jwk = json.loads(Path(BANK_BACKEND_KEY_FILE).read_text(encoding="utf-8"))["keys"][0]
    key = jwt.PyJWK(jwk)
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": BANK_BACKEND,
        "sub": BANK_BACKEND,
        "aud": audience,
        "iat": issued,
        "exp": issued + 120,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, key.key, algorithm="ES256", headers={"kid": jwk["kid"]})


def bank_backend_form(clock: FakeClock, **extra: str) -> dict[str, str]:
    return {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": bank_backend_assertion(clock()),
        **extra,
    }


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
