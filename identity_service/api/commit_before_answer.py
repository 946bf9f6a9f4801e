"""Every audited answer leaves after its audit entries are committed, waited for here.

A pure ASGI middleware, just outside the routing and the request-size limits. Routes
record their entries in ``AuditWriter.deferring`` blocks (``api.steps``, the token
endpoint); inside this middleware such a block only queues its entries, and the answer's
messages are held here until the app has returned and every commit it queued is done.
The point is where the wait happens: a coroutine that suspends pays for every frame
between it and its task, and a route sits about twenty frames down (uvicorn, Starlette's
and FastAPI's middleware, ours, the routers); waiting here costs a third of that, and a
machine token spent a quarter of its CPU on that one suspension.

If a commit fails (``AuditError``), the held answer is dropped and the request gets the
service's 503 instead, as when the route itself raised it. If the app fails, what was
queued is still waited for (its outcome ignored) before the failure goes on. Answers
with nothing to commit pass straight through, unheld.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity_service.audit import AuditError
from identity_service.audit_writer import answer_waits

UnavailableResponse = Callable[[Scope, AuditError], Awaitable[Response]]


class CommitBeforeAnswerMiddleware:
    def __init__(self, app: ASGIApp, *, unavailable: UnavailableResponse) -> None:
        self.app = app
        self._unavailable = unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        with answer_waits() as waits:

            async def send_once_committed(message: Message) -> None:
                if waits or held:  # something to commit: hold the whole answer
                    held.append(message)
                else:
                    await send(message)

            try:
                await self.app(scope, receive, send_once_committed)
            except BaseException:
                for future in waits:
                    with contextlib.suppress(Exception):
                        await future
                raise
        try:
            for future in waits:
                await future
        except AuditError as error:
            response = await self._unavailable(scope, error)
            await response(scope, receive, send)
            return
        for message in held:
            await send(message)
