"""The portal's half of a test login: an authorization-code flow with PKCE, done carefully.

``log_in`` builds the authorization request (``state``, ``nonce``, PKCE S256), lets a
``CitizenBrowser`` play the citizen, checks the answer (``iss`` per RFC 9207, ``state``),
redeems the code with the portal's client authentication (``client_secret_basic``,
``client_secret_post``, ``private_key_jwt`` or none), verifies the ID token against the
JWKS (signature, ``iss``, ``aud``, ``exp``, ``nonce``, ``at_hash``) and reads userinfo.
What the embedded natid's ``login`` returns is a ``TokenSet``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pyotp

from natid.citizen_browser import CitizenBrowser

ACR_BY_LEVEL = {1: "urn:natid:acr:level1", 2: "urn:natid:acr:level2"}
LEVEL_BY_ACR = {acr: level for level, acr in ACR_BY_LEVEL.items()}
ASSERTION_LIFETIME_SECONDS = 60
CLOCK_SKEW_SECONDS = 5


class AuthorizationError(Exception):
    """natid answered the portal with an OAuth error (``error``, ``description``)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(f"{error}: {description or ''}".rstrip(": "))
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class CitizenCredentials:
    """A test citizen's e-ID account: what they type at natid's login pages."""

    personal_id_number: str
    password: str
    level: int
    totp_secret: str | None
    full_name: str

    def totp_code(self, at: float | None = None) -> str:
        """The code the citizen's authenticator shows now (or at ``at``)."""
        if self.totp_secret is None:
            raise ValueError("a level-1 account has no authenticator")
        return pyotp.TOTP(self.totp_secret).at(int(time.time() if at is None else at))


@dataclass(frozen=True, slots=True)
class PortalClient:
    """A portal registered at the embedded natid (the secret is kept, for tests)."""

    client_id: str
    client_secret: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    auth_method: str
    private_key: Any = field(default=None, repr=False)  # private_key_jwt only
    kid: str | None = None

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a portal holds after a login: verified tokens and the citizen's claims."""

    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str
    claims: dict[str, Any]  # the verified ID token's claims
    userinfo: dict[str, Any]  # the userinfo endpoint's answer

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])

    @property
    def level(self) -> int:
        return LEVEL_BY_ACR.get(self.claims.get("acr", ""), 0)


def log_in(
    http: httpx.Client,
    issuer: str,
    portal: PortalClient,
    browser: CitizenBrowser,
    personal_id_number: str,
    password: str,
    *,
    totp_secret: str | None = None,
    scopes: tuple[str, ...] | None = None,
    acr_values: str | Iterable[str] | None = None,
    redirect_uri: str | None = None,
    consent: bool = True,
    parameters: Mapping[str, str] | None = None,
) -> TokenSet:
    """The whole flow for ``portal`` (see the module docstring)."""
    metadata = http.get("/.well-known/openid-configuration").raise_for_status().json()
    redirect_uri = redirect_uri or portal.redirect_uri
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    request = {
        "response_type": "code",
        "client_id": portal.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes or [s for s in portal.scopes if s != "kyc.verify"]),
        "state": state,
        "nonce": nonce,
        "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
        **(parameters or {}),
    }
    if acr_values is not None:
        request["acr_values"] = acr_values if isinstance(acr_values, str) else " ".join(acr_values)
    callback = browser.authorize(
        f"{metadata['authorization_endpoint']}?{urlencode(request)}",
        personal_id_number,
        password,
        totp_secret=totp_secret,
        consent=consent,
    )
    answer = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}
    if not callback.startswith(redirect_uri):
        raise AuthorizationError("invalid_redirect", f"natid redirected to {callback}")
    if answer.get("iss") != issuer or answer.get("state") != state:
        raise AuthorizationError("invalid_response", "iss or state does not match the request")
    if "error" in answer:
        raise AuthorizationError(answer["error"], answer.get("error_description"))
    fields = {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    token = _token_request(http, metadata["token_endpoint"], portal, fields)
    claims = verify_id_token(http, issuer, portal.client_id, token["id_token"], nonce=nonce)
    _check_at_hash(token["id_token"], token["access_token"], claims)
    userinfo = http.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    userinfo.raise_for_status()
    return TokenSet(
        id_token=token["id_token"],
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        expires_in=int(token.get("expires_in", 0)),
        scope=str(token.get("scope", "")),
        claims=claims,
        userinfo=userinfo.json(),
    )


def client_credentials(http: httpx.Client, issuer: str, portal: PortalClient, scope: str) -> str:
    """An access token for ``portal``'s back-end (the client credentials grant)."""
    fields = {"grant_type": "client_credentials", "scope": scope}
    return _token_request(http, f"{issuer}/token", portal, fields)["access_token"]


def verify_id_token(
    http: httpx.Client, issuer: str, client_id: str, id_token: str, *, nonce: str | None = None
) -> dict[str, Any]:
    """The claims of an ID token, verified as a relying party must (OIDC Core §3.1.3.7)."""
    keys = jwt.PyJWKSet.from_dict(http.get("/jwks").raise_for_status().json())
    header = jwt.get_unverified_header(id_token)
    key = keys[header["kid"]]
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=[key.algorithm_name],
        audience=client_id,
        issuer=issuer,
        leeway=CLOCK_SKEW_SECONDS,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    if nonce is not None and claims.get("nonce") != nonce:
        raise jwt.InvalidTokenError("the ID token's nonce is not the request's")
    return claims


def _token_request(
    http: httpx.Client, endpoint: str, portal: PortalClient, fields: dict[str, str]
) -> dict[str, Any]:
    auth: httpx.BasicAuth | None = None
    body = dict(fields)
    if portal.auth_method == "client_secret_basic":
        auth = httpx.BasicAuth(portal.client_id, portal.client_secret or "")
    elif portal.auth_method == "client_secret_post":
        body.update(client_id=portal.client_id, client_secret=portal.client_secret or "")
    elif portal.auth_method == "private_key_jwt":
        body.update(
            client_id=portal.client_id,
            client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion=client_assertion(portal, endpoint),
        )
    else:
        body["client_id"] = portal.client_id
    response = http.post(endpoint, data=body, auth=auth)
    answer = response.json()
    if response.status_code != 200:
        error = answer.get("error", "server_error")
        raise AuthorizationError(error, answer.get("error_description"))
    return answer


def client_assertion(portal: PortalClient, audience: str) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523): iss = sub = client id, short-lived."""
    now = int(time.time())
    claims = {
        "iss": portal.client_id,
        "sub": portal.client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, portal.private_key, algorithm="ES256", headers={"kid": portal.kid})


def _check_at_hash(id_token: str, access_token: str, claims: Mapping[str, Any]) -> None:
    alg = jwt.get_unverified_header(id_token)["alg"]
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(access_token.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    if claims.get("at_hash") != expected:
        raise jwt.InvalidTokenError("the ID token's at_hash does not match the access token")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
