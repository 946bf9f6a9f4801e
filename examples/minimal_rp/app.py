"""A minimal relying party for natid: log citizens in with OpenID Connect, nothing more.

Copy this file to start a portal. It uses Authlib's Starlette client for the protocol
(discovery, PKCE S256, state, nonce, the code exchange, ID-token verification against the
JWKS) and adds what a careful portal must check itself: the ``iss`` of the answer
(RFC 9207), the level of assurance it asked for, and userinfo's ``sub``. It logs out at
natid (RP-initiated logout) and honours natid's back-channel logout.

    pip install fastapi uvicorn "authlib>=1.9" httpx itsdangerous "pyjwt[crypto]"
    natid clients add --name "My portal" --scopes "openid profile" \\
        --redirect-uri http://127.0.0.1:8090/auth/callback \\
        --post-logout-redirect-uri http://127.0.0.1:8090/logged-out \\
        --backchannel-logout-uri http://127.0.0.1:8090/backchannel-logout --json
    export RP_ISSUER=http://127.0.0.1:8000 RP_BASE_URL=http://127.0.0.1:8090 \\
        RP_CLIENT_ID=... RP_CLIENT_SECRET=... RP_SESSION_SECRET=$(openssl rand -hex 32)
    uvicorn app:app_from_environment --factory --port 8090

The browser holds only a signed cookie with a random session id (and, during a login,
Authlib's state); what the portal knows about the citizen stays on the server, in
``sessions`` (use your database in production).
"""

from __future__ import annotations

import html
import os
import secrets
from dataclasses import dataclass
from typing import Any

import jwt  # PyJWT: verifies natid's back-channel logout tokens
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware

ACR_BY_LEVEL = {1: "urn:natid:acr:level1", 2: "urn:natid:acr:level2"}
LEVEL_BY_ACR = {acr: level for level, acr in ACR_BY_LEVEL.items()}
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass(frozen=True)
class RpSettings:
    issuer: str  # natid's issuer, exactly as its discovery document says
    client_id: str
    client_secret: str
    base_url: str  # where this portal is reachable, e.g. http://127.0.0.1:8090
    session_secret: str  # signs the session cookie
    scopes: str = "openid profile"


def settings_from_environment() -> RpSettings:
    return RpSettings(
        issuer=os.environ["RP_ISSUER"].rstrip("/"),
        client_id=os.environ["RP_CLIENT_ID"],
        client_secret=os.environ["RP_CLIENT_SECRET"],
        base_url=os.environ["RP_BASE_URL"].rstrip("/"),
        session_secret=os.environ["RP_SESSION_SECRET"],
        scopes=os.environ.get("RP_SCOPES", "openid profile"),
    )


def create_app(settings: RpSettings) -> FastAPI:
    oauth = OAuth()
    natid = oauth.register(
        "natid",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",  # natid requires PKCE
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    sessions: dict[str, dict[str, Any]] = {}  # session id -> the logged-in citizen

    app = FastAPI(title="Minimal natid relying party")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="minimal_rp_session",
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )

    def citizen_of(request: Request) -> dict[str, Any] | None:
        return sessions.get(request.session.get("sid", ""))

    @app.get("/")
    async def home(request: Request) -> Response:
        citizen = citizen_of(request)
        if citizen is None:
            return page(
                "Not logged in. <a href='/login'>Log in with e-ID</a> · "
                "<a href='/login?level=2'>Log in at level 2</a>"
            )
        name = html.escape(str(citizen["userinfo"].get("name", "")))
        return page(
            f"<p data-name>{name}</p><p data-level>Level {citizen['level']}</p>"
            "<a href='/login?level=2'>Step up to level 2</a> · <a href='/logout'>Log out</a>"
        )

    @app.get("/login")
    async def login(request: Request, level: int = 1, prompt: str | None = None) -> Response:
        level = 2 if level >= 2 else 1
        request.session["wanted_level"] = level
        extra = {"acr_values": ACR_BY_LEVEL[level], "ui_locales": "vi"}
        if prompt in ("none", "login", "consent"):
            extra["prompt"] = prompt
        redirect_uri = f"{settings.base_url}/auth/callback"
        return await natid.authorize_redirect(request, redirect_uri, **extra)

    @app.get("/auth/callback")
    async def callback(request: Request) -> Response:
        # RFC 9207: the answer must come from the issuer we asked (mix-up attacks).
        if request.query_params.get("iss") != settings.issuer:
            return page("The answer did not come from natid.", 400)
        try:
            # Redeems the code with PKCE; verifies the ID token (JWKS signature, iss, aud,
            # exp, nonce, at_hash). Raises OAuthError for error=... answers.
            token = await natid.authorize_access_token(request)
        except OAuthError as error:
            return login_error_page(error.error, error.description)
        except (AuthlibBaseError, JoseError) as error:
            return page(f"Rejected login answer: {html.escape(str(error))}", 400)
        claims = token["userinfo"]  # the verified ID token's claims
        level = LEVEL_BY_ACR.get(claims.get("acr"), 0)
        if level < request.session.pop("wanted_level", 1):
            return page("natid did not reach the level of assurance this page needs.", 403)
        userinfo = await natid.userinfo(token=token)
        if userinfo.get("sub") != claims["sub"]:  # OIDC Core §5.3.2
            return page("userinfo answered for someone else.", 400)
        sessions.pop(request.session.get("sid", ""), None)
        sid = secrets.token_urlsafe(32)  # a new session id at every login (no fixation)
        sessions[sid] = {
            "sub": claims["sub"],
            "natid_sid": claims.get("sid"),
            "level": level,
            "userinfo": dict(userinfo),
            "id_token": token["id_token"],  # the hint for logout
        }
        request.session["sid"] = sid
        return RedirectResponse("/", status_code=303)

    @app.get("/logout")
    async def logout(request: Request) -> Response:
        citizen = sessions.pop(request.session.pop("sid", ""), None)
        if citizen is None:
            return RedirectResponse("/", status_code=303)
        return await natid.logout_redirect(
            request,
            post_logout_redirect_uri=f"{settings.base_url}/logged-out",
            id_token_hint=citizen["id_token"],
            client_id=settings.client_id,
        )

    @app.get("/logged-out")
    async def logged_out(request: Request) -> Response:
        try:
            await natid.validate_logout_response(request)  # checks the state we sent
        except OAuthError:
            return page("Unexpected logout answer.", 400)
        return page("You are logged out of this portal and of natid. <a href='/'>Home</a>")

    @app.post("/backchannel-logout")
    async def backchannel_logout(logout_token: str = Form()) -> Response:
        """OIDC Back-Channel Logout §2.6: natid tells us a citizen's session ended."""
        try:
            claims = await verify_logout_token(logout_token)
        except (jwt.InvalidTokenError, KeyError, ValueError):
            return Response(status_code=400, headers={"Cache-Control": "no-store"})
        for sid, citizen in list(sessions.items()):
            if (claims.get("sid") and citizen["natid_sid"] == claims["sid"]) or (
                not claims.get("sid") and citizen["sub"] == claims.get("sub")
            ):
                del sessions[sid]
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    async def verify_logout_token(token: str) -> dict[str, Any]:
        metadata = await natid.load_server_metadata()
        kid = jwt.get_unverified_header(token).get("kid")
        jwks = await natid.fetch_jwk_set()
        if kid not in {key.get("kid") for key in jwks["keys"]}:
            jwks = await natid.fetch_jwk_set(force=True)  # natid rotated its keys
        key = jwt.PyJWKSet.from_dict(jwks)[kid]
        claims = jwt.decode(
            token,
            key.key,
            algorithms=metadata["id_token_signing_alg_values_supported"],
            audience=settings.client_id,
            issuer=settings.issuer,
            leeway=60,
            options={"require": ["iat", "exp", "jti", "events"]},
        )
        if BACKCHANNEL_LOGOUT_EVENT not in claims["events"] or "nonce" in claims:
            raise ValueError("not a logout token")
        if not claims.get("sid") and not claims.get("sub"):
            raise ValueError("a logout token names a session or a subject")
        return claims

    return app


def login_error_page(error: str | None, description: str | None) -> Response:
    """natid's answer was an error: say what the citizen can do about it."""
    messages = {
        "access_denied": "You did not allow sharing your data, so you are not logged in.",
        "login_required": "You are not logged in at natid. <a href='/login'>Log in</a>",
        "interaction_required": "natid needs to ask you something. <a href='/login'>Continue</a>",
        "consent_required": "natid needs your consent. <a href='/login'>Continue</a>",
    }
    fallback = f"Login failed: {html.escape(error or 'unknown')} {html.escape(description or '')}"
    text = messages.get(error or "", fallback)
    return page(f"<p data-error='{html.escape(error or '')}'>{text}</p>", 400)


def page(body: str, status_code: int = 200) -> HTMLResponse:
    document = f"<!doctype html><meta charset=utf-8><title>Portal</title><main>{body}</main>"
    return HTMLResponse(document, status_code, headers={"Cache-Control": "no-store"})


def app_from_environment() -> FastAPI:
    """The factory for ``uvicorn app:app_from_environment --factory``."""
    return create_app(settings_from_environment())
