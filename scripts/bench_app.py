"""A benchmark server: the production IdP plus one bare endpoint (never in production).

``create_bench_app()`` is the app ``natid serve`` runs (``app_from_environment``, settings
from ``NATID_*``) with a few more routes. ``POST /bench/bare-token`` is a bare FastAPI
endpoint that signs the same RFC 9068 access token the client credentials grant issues
(same claims, key, header and response shape) and does nothing else — no form parsing,
no client authentication, no audit entry. ``POST /bench/bare-token-direct`` is the same
endpoint served as the token endpoint is, by a plain Starlette route ahead of FastAPI's
(``identity_service.api.direct_routes``), so the ratio of the token endpoint to it is
what the token endpoint costs beyond the signature and the HTTP stack. ``POST
/bench/empty`` (also direct) answers ``{"ok": true}``: the HTTP stack alone. All go
through the same middleware.

Run by ``scripts/bench_tokens.py``; by hand, with the settings of the environment::

    NATID_DATA_DIR=/tmp/x .venv/bin/python scripts/bench_app.py --port 8000
"""

from __future__ import annotations

import argparse
import secrets

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from identity_service.api.direct_routes import DirectRoute, direct, serve_directly
from identity_service.api.errors import NO_STORE
from identity_service.app import app_from_environment
from identity_service.cli.serve import JSON_LOG_CONFIG

BARE_TOKEN_PATH = "/bench/bare-token"
DIRECT_BARE_TOKEN_PATH = "/bench/bare-token-direct"
# Answers {"ok": true} and does nothing else: what the HTTP stack alone costs.
EMPTY_PATH = "/bench/empty"
BENCH_CLIENT_ID = "bench-bank"
BENCH_SCOPE = "kyc.verify"


def create_bench_app() -> FastAPI:
    """The IdP of the environment's settings with the benchmark's routes added."""
    app = app_from_environment()
    services = app.state.services
    ttl = services.settings.access_token_ttl

    async def bare_token(request: Request) -> JSONResponse:
        token = services.tokens.access_token(
            client_id=BENCH_CLIENT_ID,
            subject=BENCH_CLIENT_ID,
            scope=BENCH_SCOPE,
            ttl=ttl,
            jti=secrets.token_urlsafe(16),
        )
        body = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
        return JSONResponse({**body, "scope": BENCH_SCOPE}, headers=NO_STORE)

    async def empty(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    bench = APIRouter(include_in_schema=False)
    bench.add_api_route(BARE_TOKEN_PATH, bare_token, methods=["POST"])
    direct_routes = APIRouter(include_in_schema=False)
    direct_routes.add_api_route(DIRECT_BARE_TOKEN_PATH, direct(bare_token), methods=["POST"])
    direct_routes.add_api_route(EMPTY_PATH, direct(empty), methods=["POST"])
    routes = app.router.routes
    # FastAPI tries routes in order, a few microseconds each, so each bench route sits
    # right after the token endpoint's route of its kind and pays its matching (plus one).
    app.include_router(bench)
    after_token = 1 + next(index for index, route in enumerate(routes) if _is_token_endpoint(route))
    routes.insert(after_token, routes.pop())
    served_directly = serve_directly(app, [direct_routes])  # first in the routes
    del routes[: len(served_directly)]
    direct_token = next(index for index, route in enumerate(routes) if _is_direct_token(route))
    routes[direct_token + 1 : direct_token + 1] = served_directly
    return app


def _is_direct_token(route: object) -> bool:
    return isinstance(route, DirectRoute) and route.path == "/token"


def _is_token_endpoint(route: object) -> bool:
    """The token router as FastAPI includes it (0.165: wrapped), or its route (older)."""
    included = getattr(route, "original_router", None)
    if included is not None:
        return any(getattr(inner, "path", None) == "/token" for inner in included.routes)
    return isinstance(route, APIRoute) and route.path == "/token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    # Exactly as ``natid serve`` runs the IdP: JSON logs with access lines, proxy headers.
    uvicorn.run(
        "bench_app:create_bench_app",
        factory=True,
        host=options.host,
        port=options.port,
        proxy_headers=True,
        log_level="info",
        log_config=JSON_LOG_CONFIG,
        access_log=False,
    )


if __name__ == "__main__":
    main()
