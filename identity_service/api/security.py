"""Security headers on every response (a pure ASGI middleware: no per-request tasks).

* ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no page can be framed
  (clickjacking of the login and consent buttons);
* ``Content-Security-Policy: default-src 'self'``: pages load nothing from elsewhere and
  run no inline script; the OpenAPI pages (``/docs``, ``/redoc``) get the few CDN and
  inline allowances FastAPI's documentation UI needs;
* ``Referrer-Policy: no-referrer``: authorization URLs (state, codes) never leak onward;
* ``X-Content-Type-Options: nosniff``;
* ``Cache-Control: no-store`` unless the route chose a policy (discovery, JWKS); the
  stylesheet under ``/static`` may be cached for an hour.

No ``form-action``: a login form's answer redirects to the portal's origin, which
browsers would otherwise block.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
    "img-src 'self' data:"
)
DOCS_CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:"
)
STATIC_CACHE_CONTROL = "public, max-age=3600"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
_FIXED_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
        cache_control = STATIC_CACHE_CONTROL if path.startswith("/static/") else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _FIXED_HEADERS:
                    headers[name] = value
                headers["Content-Security-Policy"] = csp
                if "cache-control" not in headers:
                    headers["Cache-Control"] = cache_control
            await send(message)

        await self.app(scope, receive, send_with_headers)
