"""The portal's e-ID client: OpenID Connect with natid through Authlib, over HTTP only.

Authlib (its Starlette client) reads the discovery document, builds authorization URLs
with PKCE S256, ``state`` and ``nonce``, and redeems codes at the token endpoint with the
portal's client authentication. This module adds what a careful relying party does on
top: the RFC 9207 ``iss`` check on the callback, offline ID-token verification against
the cached JWKS (``id_tokens``), the userinfo call with its ``sub`` check, the URL of
RP-initiated logout when the IdP advertises an ``end_session_endpoint``, and the
verification of back-channel logout tokens (``logout_tokens``).

A high-assurance portal (FAPI 2.0) adds three things, each standard: it authenticates
with ``private_key_jwt`` naming the issuer as audience (Authlib's client auth method,
``client_assertions``); it pushes the authorization request Authlib built to the PAR
endpoint (RFC 9126) and sends the browser with only ``client_id`` and ``request_uri``;
and its tokens are bound to its DPoP key (``dpop``, underneath Authlib), so the userinfo
call uses the ``DPoP`` scheme.
"""

from __future__ import annotations

import hmac
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import authlib.deprecate  # noqa: F401 - installs Authlib's own warning filter first (below)
import httpx
from authlib.common.errors import AuthlibBaseError

from portals.common.client_assertions import assertion_method, import_private_jwk
from portals.common.dpop import DpopKey, DpopTransport
from portals.common.errors import (
    IssuerMismatchError,
    LoginStateError,
    ProviderRefusedError,
    ProviderUnavailableError,
    TokenExchangeError,
)
from portals.common.id_tokens import IdTokenVerifier
from portals.common.identity import CitizenIdentity, PendingLogin
from portals.common.jwks import JwksCache
from portals.common.levels import acr_for_level, level_of_acr
from portals.common.logout_tokens import LogoutRequest, LogoutTokenVerifier
from portals.common.settings import PortalSettings

with warnings.catch_warnings():
    # Authlib announces that its httpx integration will move to the httpx2 package; that
    # is Authlib's roadmap, nothing a relying party can act on today. Authlib forces its
    # warnings to "always" when first imported, hence that import above this filter.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.integrations.starlette_client import OAuth

DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 10.0
PENDING_LOGIN_TTL_SECONDS = 600


class EidClient:
    """natid's e-ID for one portal; ``transport`` lets tests talk to an in-process IdP."""

    def __init__(
        self,
        settings: PortalSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        private_jwk: dict[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self.issuer = settings.issuer.rstrip("/")
        self._dpop: DpopTransport | None = None
        if settings.dpop:
            self._dpop = DpopTransport(DpopKey(clock=clock), transport)
            transport = self._dpop
        self._transport = transport
        client_kwargs: dict[str, Any] = {
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": settings.token_endpoint_auth_method,
            "timeout": HTTP_TIMEOUT_SECONDS,
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        self._client_secret: Any = (
            settings.client_secret.get_secret_value() if settings.client_secret else None
        )
        self._auth_methods = []
        if settings.token_endpoint_auth_method == "private_key_jwt":
            if private_jwk is None:
                raise ValueError("private_key_jwt needs the portal's private key")
            self._client_secret = import_private_jwk(private_jwk)
            self._auth_methods = [assertion_method(private_jwk, clock, audience=self.issuer)]
        self._oauth = OAuth().register(
            "natid",
            client_id=settings.client_id,
            client_secret=self._client_secret,
            server_metadata_url=f"{self.issuer}{DISCOVERY_PATH}",
            client_kwargs=client_kwargs,
            client_auth_methods=self._auth_methods,
        )
        self.keys = JwksCache(
            self._fetch_jwks, min_refetch_seconds=settings.jwks_min_refetch_seconds, clock=clock
        )

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once); its ``issuer`` must be the configured one
        (OpenID Connect Discovery §4.3), or the portal refuses to use it."""
        try:
            metadata = await self._oauth.load_server_metadata()
        except (httpx.HTTPError, ValueError) as error:
            self._oauth.server_metadata.clear()
            raise ProviderUnavailableError(f"discovery failed: {type(error).__name__}") from None
        if metadata.get("issuer") != self.issuer:
            self._oauth.server_metadata.clear()
            raise IssuerMismatchError("the discovery document names another issuer")
        if self._dpop is not None:
            self._dpop.add_endpoints(
                *(
                    metadata[name]
                    for name in ("token_endpoint", "pushed_authorization_request_endpoint")
                    if isinstance(metadata.get(name), str)
                )
            )
        return metadata

    async def start_login(
        self, *, level: int, next_path: str, locale: str, login_hint: str | None = None
    ) -> tuple[str, PendingLogin]:
        """The authorization URL to send the browser to, and what the callback will need."""
        metadata = await self.metadata()
        extra: dict[str, str] = {"acr_values": acr_for_level(level), "ui_locales": locale}
        if login_hint:
            extra["login_hint"] = login_hint
        try:
            request = await self._oauth.create_authorization_url(
                self._settings.redirect_uri, **extra
            )
            url = request["url"]
            if self._settings.pushed_authorization_requests:
                url = await self._pushed(metadata, url)
        except (httpx.HTTPError, AuthlibBaseError) as error:
            raise ProviderUnavailableError(type(error).__name__) from None
        pending = PendingLogin(
            state=request["state"],
            nonce=request["nonce"],
            code_verifier=request["code_verifier"],
            level=level,
            next_path=next_path,
            started_at=self._clock(),
        )
        return url, pending

    async def finish_login(
        self, pending: PendingLogin | None, callback: Mapping[str, str]
    ) -> CitizenIdentity:
        """Turn the IdP's answer at the callback into a verified identity."""
        if pending is None or self._clock() - pending.started_at > PENDING_LOGIN_TTL_SECONDS:
            raise LoginStateError("no login in progress for this state in this browser")
        metadata = await self.metadata()
        self._check_response_issuer(metadata, callback.get("iss"))
        if callback.get("error"):
            raise ProviderRefusedError(callback["error"], callback.get("error_description", ""))
        code = callback.get("code")
        if not code:
            raise ProviderRefusedError("invalid_request", "the callback carries no code")
        token = await self._redeem(code, pending)
        verifier = IdTokenVerifier(
            self.keys,
            issuer=self.issuer,
            client_id=self._settings.client_id,
            algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
            clock_skew_seconds=self._settings.clock_skew_seconds,
            clock=self._clock,
        )
        id_token = str(token.get("id_token") or "")
        claims = await verifier.verify(
            id_token,
            nonce=pending.nonce,
            min_level=pending.level,
            access_token=token.get("access_token"),
        )
        userinfo = await self._userinfo(metadata, token, claims["sub"])
        return CitizenIdentity(
            subject=claims["sub"],
            level=_level(claims),
            acr=claims["acr"],
            amr=[str(method) for method in claims.get("amr", [])],
            auth_time=claims.get("auth_time"),
            claims=userinfo,
            id_token=id_token,
            idp_session_id=claims["sid"] if isinstance(claims.get("sid"), str) else "",
        )

    async def logout_url(self, identity: CitizenIdentity, locale: str, state: str) -> str | None:
        """RP-initiated logout at the IdP (OIDC RP-Initiated Logout 1.0 §2), when its
        discovery advertises the endpoint. The IdP sends the browser back to the portal's
        registered "logged out" page with ``state``, which the portal checks there."""
        try:
            metadata = await self.metadata()
        except (ProviderUnavailableError, IssuerMismatchError):
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {
            "client_id": self._settings.client_id,
            "post_logout_redirect_uri": self._settings.post_logout_redirect_uri,
            "state": state,
            "ui_locales": locale,
        }
        if identity.id_token:
            # The hint lets the IdP end the session without asking the citizen to confirm.
            params["id_token_hint"] = identity.id_token
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"

    async def verify_logout_token(self, logout_token: str) -> LogoutRequest:
        """What a back-channel logout token asks for, once valid (``logout_tokens``);
        raises ``LogoutTokenError``, or ``ProviderUnavailableError`` when the IdP's
        discovery or keys cannot be fetched to check it."""
        metadata = await self.metadata()
        verifier = LogoutTokenVerifier(
            self.keys,
            issuer=self.issuer,
            client_id=self._settings.client_id,
            algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
            clock_skew_seconds=self._settings.clock_skew_seconds,
            clock=self._clock,
        )
        return await verifier.verify(logout_token)

    async def _pushed(self, metadata: Mapping[str, Any], authorization_url: str) -> str:
        """Push the parameters of ``authorization_url`` (built by Authlib) to the PAR
        endpoint with the portal's client authentication; the URL that refers to them."""
        endpoint = metadata.get("pushed_authorization_request_endpoint")
        if not isinstance(endpoint, str):
            raise ProviderUnavailableError("discovery names no PAR endpoint")
        parts = urlsplit(authorization_url)
        parameters = dict(parse_qsl(parts.query))
        method = self._settings.token_endpoint_auth_method
        async with AsyncOAuth2Client(
            client_id=self._settings.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=method,
            timeout=HTTP_TIMEOUT_SECONDS,
            transport=self._transport,
        ) as oauth:
            for auth_method in self._auth_methods:
                oauth.register_client_auth_method(auth_method)
            response = await oauth.request(
                "POST", endpoint, data=parameters, auth=oauth.client_auth(method)
            )
        if response.status_code != 201:
            try:
                error = response.json()
            except ValueError:
                error = {}
            if response.status_code >= 500 or not isinstance(error, dict):
                raise ProviderUnavailableError(f"PAR endpoint: HTTP {response.status_code}")
            raise ProviderRefusedError(
                str(error.get("error", "invalid_request")), str(error.get("error_description", ""))
            )
        request_uri = response.json().get("request_uri")
        if not isinstance(request_uri, str):
            raise ProviderUnavailableError("the PAR endpoint sent no request_uri")
        query = urlencode({"client_id": self._settings.client_id, "request_uri": request_uri})
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    def _check_response_issuer(self, metadata: Mapping[str, Any], issuer: str | None) -> None:
        if issuer is None:
            if metadata.get("authorization_response_iss_parameter_supported"):
                raise IssuerMismatchError("the IdP promises iss in responses and sent none")
            return
        if not hmac.compare_digest(issuer, self.issuer):
            raise IssuerMismatchError("the response names another issuer")

    async def _redeem(self, code: str, pending: PendingLogin) -> dict[str, Any]:
        try:
            token = await self._oauth.fetch_access_token(
                redirect_uri=self._settings.redirect_uri,
                code=code,
                code_verifier=pending.code_verifier,
            )
        except AuthlibBaseError as error:
            raise TokenExchangeError(f"{error.error}: {error.description or ''}") from None
        except httpx.HTTPError as error:
            raise ProviderUnavailableError(f"token endpoint: {type(error).__name__}") from None
        return dict(token)

    async def _userinfo(
        self, metadata: Mapping[str, Any], token: dict[str, Any], subject: str
    ) -> dict[str, Any]:
        """The claims from the userinfo endpoint; its ``sub`` must be the ID token's
        (OIDC Core §5.3.2), or the answer belongs to someone else."""
        endpoint = metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            if str(token.get("token_type", "")).lower() == "dpop":
                # Authlib signs bearer tokens only; the DPoP transport adds the proof.
                async with httpx.AsyncClient(
                    transport=self._transport, timeout=HTTP_TIMEOUT_SECONDS
                ) as http:
                    response = await http.get(
                        endpoint, headers={"Authorization": f"DPoP {token['access_token']}"}
                    )
            else:
                response = await self._oauth.get(endpoint, token=token)
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailableError(f"userinfo: {type(error).__name__}") from None
        if not isinstance(claims, dict) or claims.get("sub") != subject:
            raise TokenExchangeError("userinfo answered for another subject")
        return claims

    async def _fetch_jwks(self) -> dict[str, Any]:
        metadata = await self.metadata()
        try:
            return await self._oauth.fetch_jwk_set(force=True)
        except (httpx.HTTPError, ValueError, RuntimeError) as error:
            uri = metadata.get("jwks_uri")
            raise ProviderUnavailableError(f"JWKS {uri}: {type(error).__name__}") from None


def _level(claims: Mapping[str, Any]) -> int:
    return level_of_acr(claims.get("acr")) or 0
