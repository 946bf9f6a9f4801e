"""A benchmark server: the production IdP plus one bare endpoint (never in production).

``create_bench_app()`` is the app ``natid serve`` runs (``app_from_environment``, settings
from ``NATID_*``) with one more route, ``POST /bench/bare-token``: it signs the same RFC
9068 access token the client credentials grant issues (same claims, key, header and
response shape) and does nothing else — no form parsing, no client authentication, no
audit entry. It goes through the same middleware, so the ratio of the real token
endpoint to it is what the token endpoint costs beyond the signature.

Run by ``scripts/bench_tokens.py``; by hand, with the settings of the environment::

    NATID_DATA_DIR=/tmp/x .venv/bin/python scripts/bench_app.py --port 8000
"""

from __future__ import annotations

import argparse
import secrets

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from identity_service.api.errors import NO_STORE
from identity_service.app import app_from_environment
from identity_service.cli.serve import JSON_LOG_CONFIG

BARE_TOKEN_PATH = "/bench/bare-token"
# Answers {"ok": true} and does nothing else: what the HTTP stack alone costs.
EMPTY_PATH = "/bench/empty"
BENCH_CLIENT_ID = "bench-bank"
BENCH_SCOPE = "kyc.verify"


def create_bench_app() -> FastAPI:
    """The IdP of the environment's settings with ``POST /bench/bare-token`` added."""
    app = app_from_environment()
    services = app.state.services
    ttl = services.settings.access_token_ttl

    async def bare_token(_request: Request) -> JSONResponse:
        token = services.tokens.access_token(
            client_id=BENCH_CLIENT_ID,
            subject=BENCH_CLIENT_ID,
            scope=BENCH_SCOPE,
            ttl=ttl,
            jti=secrets.token_urlsafe(16),
        )
        body = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
        return JSONResponse({**body, "scope": BENCH_SCOPE}, headers=NO_STORE)

    async def empty(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app.add_api_route(BARE_TOKEN_PATH, bare_token, methods=["POST"], include_in_schema=False)
    app.add_api_route(EMPTY_PATH, empty, methods=["POST"], include_in_schema=False)
    # Both right after the token endpoint in the route table: FastAPI tries routes in
    # order, a few microseconds each, so they pay the route matching it pays (plus one).
    routes = app.router.routes
    after_token = 1 + next(index for index, route in enumerate(routes) if _is_token_endpoint(route))
    routes[after_token:after_token] = [routes.pop(), routes.pop()]
    return app


def _is_token_endpoint(route: object) -> bool:
    """The token router as FastAPI includes it (0.165: wrapped), or its route (older)."""
    included = getattr(route, "original_router", None)
    if included is not None:
        return any(getattr(inner, "path", None) == "/token" for inner in included.routes)
    return getattr(route, "path", None) == "/token"


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
    )


if __name__ == "__main__":
    main()
