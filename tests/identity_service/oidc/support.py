"""Test drivers: a citizen's browser (forms, cookies) and a portal using Authlib.

``Browser`` talks to the IdP in-process over ``httpx.ASGITransport``, keeps cookies like a
browser, follows the IdP's own redirects and stops at the redirect back to a portal.
``Portal`` is a relying party built on Authlib's httpx OAuth 2.0 client with PKCE S256;
it verifies ID tokens with PyJWT against the IdP's JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import httpx
import jwt
import pyotp
from fastapi import FastAPI

with warnings.catch_warnings():
    # Authlib announces that its httpx integration will move to the httpx2 package; that
    # is Authlib's plan, not something these tests can or should act on. (Its deprecate
    # module installs an "always" filter on import, so ours goes in after it.)
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

ISSUER = "https://id.natid.test"
PUBLIC_SERVICES = "public-services-portal"
PUBLIC_SERVICES_SECRET = "demo-secret-public-services-portal-not-for-production"
PUBLIC_SERVICES_REDIRECT = "http://127.0.0.1:8101/auth/callback"
# A level-2 portal with a client secret (oidc/level2_portal.toml; the demo bank is FAPI 2.0).
LEVEL2_PORTAL = "test-level2-portal"
LEVEL2_PORTAL_SECRET = "test-secret-level2-portal-not-for-production"
LEVEL2_PORTAL_REDIRECT = "http://127.0.0.1:8102/auth/callback"
CLINIC = "demo-clinic"
CLINIC_SECRET = "demo-secret-demo-clinic-not-for-production"
CLINIC_REDIRECT = "http://127.0.0.1:8103/auth/callback"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


class FakeClock:
    """A clock tests move forward by hand (time.time() values)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def csrf_token_of(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on the page: {page.text[:300]}"
    return match.group(1)


def form_actions(page: httpx.Response) -> list[str]:
    return _ACTION.findall(page.text)


class Browser:
    """A citizen's browser: cookies, the IdP's redirects, form posts."""

    def __init__(self, app: FastAPI, base_url: str = ISSUER) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        self.base_url = base_url

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def open(self, url: str) -> httpx.Response:
        """GET ``url`` and follow redirects inside the IdP; stops at a portal redirect."""
        return await self._follow(await self.http.get(url))

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return await self._follow(await self.http.post(path, data=data))

    async def submit(self, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
        """Post one of the page's forms (matched by its action's last segment)."""
        matching = [path for path in form_actions(page) if path.endswith(f"/{action}")]
        assert matching, f"no {action} form on the page: {form_actions(page)}"
        return await self.post(matching[0], {"csrf_token": csrf_token_of(page), **fields})

    async def _follow(self, response: httpx.Response) -> httpx.Response:
        for _ in range(10):
            location = response.headers.get("location")
            if response.status_code not in (302, 303) or location is None:
                return response
            target = urljoin(str(response.url), location)
            if not target.startswith(self.base_url):
                return response  # back to a portal: the test reads the Location
            response = await self.http.get(target)
        raise AssertionError("too many redirects inside the IdP")


@dataclass
class AuthorizationAttempt:
    url: str
    state: str
    code_verifier: str
    nonce: str


class Portal:
    """A relying party: Authlib's OAuth 2.0 client with PKCE S256, verifying ID tokens."""

    def __init__(
        self,
        app: FastAPI,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        scope: str = "openid profile",
        auth_method: str = "client_secret_basic",
    ) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.oauth = AsyncOAuth2Client(
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=auth_method,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            transport=httpx.ASGITransport(app=app),
            base_url=ISSUER,
        )

    async def __aenter__(self) -> Portal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.oauth.aclose()

    async def discover(self) -> dict[str, Any]:
        response = await self.oauth.request(
            "GET", "/.well-known/openid-configuration", withhold_token=True
        )
        response.raise_for_status()
        return response.json()

    def start(self, **params: str) -> AuthorizationAttempt:
        verifier = secrets.token_urlsafe(48)
        nonce = params.pop("nonce", secrets.token_urlsafe(16))
        url, state = self.oauth.create_authorization_url(
            f"{ISSUER}/authorize", code_verifier=verifier, nonce=nonce, **params
        )
        return AuthorizationAttempt(url, state, verifier, nonce)

    async def exchange(self, attempt: AuthorizationAttempt, callback_url: str) -> dict[str, Any]:
        token = await self.oauth.fetch_token(
            f"{ISSUER}/token",
            authorization_response=callback_url,
            state=attempt.state,
            code_verifier=attempt.code_verifier,
        )
        return dict(token)

    async def verify_id_token(self, id_token: str, attempt: AuthorizationAttempt) -> dict[str, Any]:
        """Verify like any RP: signature against the JWKS, iss, aud, exp, nonce."""
        jwks = (await self.oauth.request("GET", "/jwks", withhold_token=True)).json()
        key_set = jwt.PyJWKSet.from_dict(jwks)
        header = jwt.get_unverified_header(id_token)
        key = key_set[header["kid"]]
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=[header["alg"]],
            audience=self.client_id,
            issuer=ISSUER,
            leeway=60,  # tests move the IdP's clock forward; portals allow some skew too
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        assert claims["nonce"] == attempt.nonce
        return claims

    async def userinfo(self, access_token: str) -> httpx.Response:
        return await self.oauth.request(
            "GET",
            "/userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
            withhold_token=True,
        )


async def log_in(
    browser: Browser,
    attempt: AuthorizationAttempt,
    personal_id_number: str,
    password: str,
    *,
    totp_secret: str | None = None,
    clock: FakeClock | None = None,
    consent: bool = True,
) -> str:
    """Drive the pages from the authorization URL to the portal callback; returns its URL."""
    page = await browser.open(attempt.url)
    if "/login" in " ".join(form_actions(page)):
        page = await browser.submit(
            page, "login", personal_id_number=personal_id_number, password=password
        )
    if "/second-factor" in " ".join(form_actions(page)):
        assert totp_secret is not None, "the IdP asked for a second factor"
        page = await browser.submit(page, "second-factor", code=totp_code(totp_secret, clock))
    if "/consent" in " ".join(form_actions(page)):
        page = await browser.submit(page, "consent", decision="approve" if consent else "deny")
    assert page.status_code == 303, f"expected a redirect to the portal, got {page.status_code}"
    return page.headers["location"]


def totp_code(secret: str, clock: FakeClock | None = None) -> str:
    return pyotp.TOTP(secret).at(clock() if clock is not None else time.time())


@dataclass
class RawRequest:
    """An authorization request built by hand (for inputs no library would send)."""

    params: dict[str, str]
    code_verifier: str

    @property
    def url(self) -> str:
        return "/authorize?" + urlencode(self.params)


def raw_request(
    client_id: str = PUBLIC_SERVICES,
    redirect_uri: str = PUBLIC_SERVICES_REDIRECT,
    scope: str = "openid profile",
    **overrides: str | None,
) -> RawRequest:
    """A valid code-flow request with PKCE S256; ``None`` in overrides drops a parameter."""
    verifier = secrets.token_urlsafe(48)
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    return RawRequest({k: v for k, v in params.items() if v is not None}, verifier)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def obtain_code(
    browser: Browser,
    request: RawRequest,
    personal_id_number: str,
    password: str,
    *,
    totp_secret: str | None = None,
    clock: FakeClock | None = None,
) -> str:
    """Log a citizen in for a hand-built request and return the authorization code."""
    attempt = AuthorizationAttempt(
        request.url, request.params.get("state", ""), request.code_verifier, ""
    )
    callback = await log_in(
        browser, attempt, personal_id_number, password, totp_secret=totp_secret, clock=clock
    )
    answer = query_of(callback)
    assert "code" in answer, f"no code in {callback}"
    return answer["code"]


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
