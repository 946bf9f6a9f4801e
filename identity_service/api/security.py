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
_PAGE_CSP = PAGE_CSP.encode("ascii")
_DOCS_CSP = DOCS_CSP.encode("ascii")
_STATIC_CACHE = STATIC_CACHE_CONTROL.encode("ascii")
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
# Raw (lower-case bytes) as ASGI carries them: appended as they are, not through
# MutableHeaders, whose every assignment scans and rebuilds the list.
_FIXED_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)
_OWN_HEADERS = frozenset(
    (*(name for name, _ in _FIXED_HEADERS), b"content-security-policy", b"cache-control")
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = _DOCS_CSP if path in DOCS_PATHS else _PAGE_CSP
        cache_control = _STATIC_CACHE if path.startswith("/static/") else b"no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                route_headers = list(message.get("headers", ()))
                # The route's Cache-Control stands; the other security headers are ours.
                chose_caching = any(name.lower() == b"cache-control" for name, _ in route_headers)
                headers = [
                    (name, value)
                    for name, value in route_headers
                    if name.lower() not in _OWN_HEADERS or name.lower() == b"cache-control"
                ]
                headers.extend(_FIXED_HEADERS)
                headers.append((b"content-security-policy", csp))
                if not chose_caching:
                    headers.append((b"cache-control", cache_control))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
