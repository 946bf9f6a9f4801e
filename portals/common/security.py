"""Security headers on every portal response (a pure ASGI middleware).

* CSP: the pages load only the portal's own stylesheets, run no script at all, cannot be
  framed, and forms may post only to the portal itself or the IdP (``form-action`` also
  governs the redirect after a post: logging out continues at the IdP's end-session);
* ``X-Frame-Options: DENY`` for browsers without CSP frame-ancestors;
* ``Referrer-Policy: same-origin``: a callback URL with its code never leaves the portal;
* ``Cache-Control: no-store`` unless the route chose a policy: pages show personal data;
* HSTS when the portal is served over https.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(issuer_origin: str) -> str:
    return (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self' {issuer_origin}; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, issuer_origin: str, https: bool) -> None:
        self.app = app
        self._headers = [
            ("Content-Security-Policy", content_security_policy(issuer_origin)),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ]
        if https:
            self._headers.append(("Strict-Transport-Security", "max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._headers:
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
