"""Talking to real server processes as a load balancer would route a citizen and a portal.

Every process serves the one issuer (``ISSUER``); ``LoopbackTransport`` sends a request
for it to the process on a chosen port, adds the ``X-Forwarded-*`` headers a load
balancer adds (the client's address, https), and keeps the ``Host``. ``ServerBrowser``
is the oidc tests' citizen browser over that transport, so the same login helpers drive
real processes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    RawRequest,
    basic_auth,
)

REQUEST_TIMEOUT_SECONDS = 15.0


class LoopbackTransport(httpx.AsyncBaseTransport):
    """Sends requests for the issuer to ``127.0.0.1:port`` as from ``client_ip``."""

    def __init__(self, port: int, client_ip: str = "203.0.113.10") -> None:
        self.port = port
        self.client_ip = client_ip
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A copy: the client keeps seeing the issuer's URL (redirects, cookies).
        forwarded = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port),
            headers={
                **request.headers,
                "X-Forwarded-For": self.client_ip,
                "X-Forwarded-Proto": "https",
            },
            stream=request.stream,
        )
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ServerBrowser(Browser):
    """A citizen's browser whose requests reach the server process on ``port``."""

    def __init__(self, port: int, client_ip: str = "203.0.113.10") -> None:
        self.base_url = ISSUER
        self.http = httpx.AsyncClient(
            transport=LoopbackTransport(port, client_ip),
            base_url=ISSUER,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    def route_to(self, port: int) -> None:
        """Send the next requests (same cookies) to another process."""
        transport = self.http._transport
        assert isinstance(transport, LoopbackTransport)
        transport.port = port


def portal_client(port: int) -> httpx.AsyncClient:
    """The public-service portal's back channel (token, userinfo, revoke) to one process."""
    return httpx.AsyncClient(
        transport=LoopbackTransport(port, client_ip="198.51.100.7"),
        base_url=ISSUER,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )


def redemption(request: RawRequest, code: str) -> dict[str, Any]:
    """``POST /token`` arguments redeeming ``code`` as the public-service portal."""
    return {
        "data": {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.params["redirect_uri"],
            "code_verifier": request.code_verifier,
        },
        "headers": basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    }


@dataclass(frozen=True)
class Outcome:
    """One request made during a fault: what came back and how long it took."""

    what: str  # which kind of request
    status: int | None  # None: no answer at all (connection refused, timeout)
    seconds: float
    retry_after: str | None
    at: float  # time.monotonic() when it was sent

    @property
    def ended(self) -> float:
        return self.at + self.seconds


@dataclass(frozen=True)
class LoadRequest:
    what: str
    method: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)


class BackgroundLoad:
    """``workers`` loops sending ``requests`` in turn to one process until the block ends,
    recording every outcome (a load balancer's view of one backend during a fault)."""

    def __init__(self, port: int, requests: list[LoadRequest], *, workers: int = 6) -> None:
        self._port = port
        self._requests = requests
        self._workers = workers
        self._running = False
        self._tasks: list[asyncio.Task[None]] = []
        self.outcomes: list[Outcome] = []

    async def __aenter__(self) -> BackgroundLoad:
        self._running = True
        self._tasks = [asyncio.create_task(self._work(n)) for n in range(self._workers)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    async def _work(self, number: int) -> None:
        async with portal_client(self._port) as client:
            turn = number
            while self._running:
                request = self._requests[turn % len(self._requests)]
                turn += 1
                started = time.monotonic()
                try:
                    answer = await client.request(request.method, request.url, **request.options)
                except httpx.TransportError:
                    outcome = Outcome(request.what, None, time.monotonic() - started, None, started)
                else:
                    outcome = Outcome(
                        request.what,
                        answer.status_code,
                        time.monotonic() - started,
                        answer.headers.get("retry-after"),
                        started,
                    )
                self.outcomes.append(outcome)
                await asyncio.sleep(0.02)

    def answered_between(self, start: float, end: float) -> list[Outcome]:
        """Outcomes of the requests answered after ``start`` and before ``end``."""
        return [o for o in self.outcomes if start <= o.ended <= end]
