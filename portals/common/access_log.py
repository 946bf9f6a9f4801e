"""A one-line access log per request, without query strings.

uvicorn's own access log prints the full request line, and a portal's login callback
carries the authorization code in its query. The portals therefore run with uvicorn's
access log off and log here: method, path, status and duration, nothing else.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("portals.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            logger.info(
                '"%s %s" %s %.1f ms',
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
