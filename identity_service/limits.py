"""Size limits on every request, enforced before any route sees it (a pure ASGI middleware).

Why here: uvicorn with httptools accepts request heads of any size (a 1 MB header is
handed to the app), and waits for a declared body of any length; Starlette caps a form
field at 1 MiB but not the body as a whole. No request to this service legitimately
comes near the limits below, so refusing early costs nothing and bounds the memory and
parsing work an attacker can cause per request.

* request line: path and query together over ``max_url_bytes`` → 414;
* head: more than ``max_header_count`` headers, or more than ``max_header_bytes`` of
  names and values → 431;
* body: a ``Content-Length`` over ``max_body_bytes`` → 413 at once, without reading the
  body; a malformed ``Content-Length`` → 400; a body without one (chunked) is read up to
  the limit — 413 beyond it — and then handed to the app as it came.

Refusals answer in the protocol's shape: an OAuth error (``invalid_request``, RFC 6749
§5.2) by default, HTTP problem details (RFC 9457) under ``problem_prefixes`` (the REST
APIs); always ``Cache-Control: no-store`` and ``Connection: close``.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_MAX_URL_BYTES = 16 * 1024
DEFAULT_PROBLEM_PREFIXES = ("/api/",)

_TITLES = {
    400: "Bad request",
    413: "Request body too large",
    414: "Request URI too long",
    431: "Request header fields too large",
}


class RequestLimitsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_header_count: int = DEFAULT_MAX_HEADER_COUNT,
        max_url_bytes: int = DEFAULT_MAX_URL_BYTES,
        problem_prefixes: tuple[str, ...] = DEFAULT_PROBLEM_PREFIXES,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count
        self.max_url_bytes = max_url_bytes
        self.problem_prefixes = problem_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal_of_head(scope)
        if refusal is not None:
            await self._refuse(scope, send, *refusal)
            return
        declared = _content_length(scope)
        if declared is not None:
            # The server delivers exactly this many bytes: nothing more to watch.
            await self.app(scope, receive, send)
            return
        body = await self._bounded_body(receive)
        if body is None:
            await self._refuse(scope, send, 413, f"the body exceeds {self.max_body_bytes} bytes")
            return
        await self.app(scope, _replaying(body, receive), send)

    def _refusal_of_head(self, scope: Scope) -> tuple[int, str] | None:
        url_bytes = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if url_bytes > self.max_url_bytes:
            return 414, f"the request URI exceeds {self.max_url_bytes} bytes"
        headers = scope["headers"]
        if len(headers) > self.max_header_count:
            return 431, f"more than {self.max_header_count} header fields"
        if sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes:
            return 431, f"the header fields exceed {self.max_header_bytes} bytes"
        try:
            declared = _content_length(scope)
        except ValueError:
            return 400, "the Content-Length header is malformed"
        if declared is not None and declared > self.max_body_bytes:
            return 413, f"the body exceeds {self.max_body_bytes} bytes"
        return None

    async def _bounded_body(self, receive: Receive) -> list[Message] | None:
        """The request's body messages, or None once they pass the limit."""
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away; the app will see that too
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        path = scope.get("path", "")
        if path.startswith(self.problem_prefixes):
            media_type = "application/problem+json"
            body = {
                "type": "about:blank",
                "title": _TITLES[status],
                "status": status,
                "detail": detail,
            }
        else:
            media_type = "application/json"
            body = {"error": "invalid_request", "error_description": detail}
        content = json.dumps(body).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media_type.encode("ascii")),
                    (b"content-length", str(len(content)).encode("ascii")),
                    (b"cache-control", b"no-store"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _content_length(scope: Scope) -> int | None:
    """The declared body length; ``ValueError`` if it is malformed or given twice."""
    values = [value for name, value in scope["headers"] if name.lower() == b"content-length"]
    if not values:
        return None
    if len(values) > 1 or not values[0].strip().isdigit() or len(values[0].strip()) > 18:
        raise ValueError("malformed Content-Length")
    return int(values[0])


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to the server's."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
